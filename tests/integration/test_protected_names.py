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
