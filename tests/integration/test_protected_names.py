"""The names that suggest a protected attribute: a hint for warnings, never a finding."""

from finlite._protected import likely_protected


def test_the_prohibited_bases_are_found_under_the_names_data_carries_them() -> None:
    """A fair-lending review (2026-12-05) found national_origin, date_of_birth, is_male and
    public_assistance missed: ECOA's prohibited bases include national origin, age and the receipt
    of public assistance."""
    named = ["national_origin", "date_of_birth", "is_male", "public_assistance_income", "Applicant Race",
             "skin-color", "marital_status", "AgeBand", "citizen_flag", "disabled"]
    assert likely_protected(named) == named
    plain = ["loan_amount", "term", "purpose", "income", "storage", "manager", "average_balance", "page_views",
             "image_count", "colored_pencils"]
    assert likely_protected(plain) == []


def test_marital_status_as_taiwan_names_it_and_camel_case_names_are_found_but_a_things_age_is_not() -> None:
    """Taiwan's credit-card book names marital status MARRIAGE, and camelCase joins words
    (MaritalStatus, isMale): found (a walk-through, 2026-12-05). A word that makes the protected
    word a thing's (a car's or a loan's age, a currency, a national bank) is not the applicant's,
    unless another makes it the applicant's again (a review, 2026-12-05)."""
    named = ["MARRIAGE", "MaritalStatus", "isMale", "AgeGroup", "CODE_GENDER", "DAYS_BIRTH", "applicant_age_at_loan",
             "husband_income", "WidowFlag",
             # a thing's word elsewhere in the name does not make it a thing's (the final read, 2026-12-05)
             "gender_id", "race_id", "marital_status_id", "nationality_on_id_card", "religion_record", "age_at_loan",
             "AgeAtLoanStart", "age_at_account_open"]
    assert likely_protected(named) == named
    things = ["OWN_CAR_AGE", "loan_age", "loanAGE", "AccountAge", "CreditLineAge", "ageOfAccount",
              "foreign_currency_share", "NATIONAL_ID_VALID", "nationalBankFlag", "dti_national_avg", "ColorOfCar",
              "RaceTrack"]
    assert likely_protected(things) == []
