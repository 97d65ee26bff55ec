"""Which features' names suggest a protected attribute (age, sex, nationality ...): a hint, never a
finding. The validation report names them when fairness was not asked for, and scoring warns
when an adverse-action reason names one (:data:`USE_ADVICE`): a reason that is a protected
characteristic means the model decides on it."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

__all__ = ["BAND_EDGES", "GEOGRAPHY_WORDS", "OTHER_PARTY_WORDS", "PROTECTED_WORDS", "USE_ADVICE", "likely_geography",
           "likely_other_party", "likely_protected", "likely_vintage", "name_words", "names_age", "split_band_edges"]

#: The band edges a protected column may be given after its name (``age_in_years:25/62``): read by
#: the report (evaluate.groups.protected_spec) and by score and serve
#: (runtime.reason_codes.declared_protected), which must name the same column.
BAND_EDGES = re.compile(r"[-+0-9.eE]+(?:/[-+0-9.eE]+)*")


def split_band_edges(text: str, columns: Collection[str]) -> tuple[str, str | None]:
    """A ``--protected`` entry as (the column it names, the text of its band edges or None): a name
    that is one of ``columns`` is that column, whatever it holds (``Q1:2020`` is not banded at
    2020); else the name before ``:E1/E2/...`` when the tail reads as band edges (``age:25/62``),
    else the entry itself. The one reading of the report (:func:`finlite.evaluate.groups.protected_spec`,
    which parses and checks the edges) and of score and serve (``runtime.reason_codes``)."""
    if text in columns:
        return text, None
    column, sep, tail = text.rpartition(":")
    if not sep or not BAND_EDGES.fullmatch(tail.strip()):
        return text, None
    return column.strip(), tail.strip()

#: What a reason that names a protected characteristic calls for. Not "drop it from the notice":
#: Regulation B wants the principal reasons as they are; what it restricts is deciding on a
#: prohibited basis (the final read, 2026-12-05, of a wording that said a notice "may not cite" one).
USE_ADVICE = ("a reason that is a protected characteristic means the model decides on it, which ECOA / Regulation B "
              "prohibit (age only in an empirically derived, demonstrably sound system, and not against elderly "
              "applicants); review whether the model may use it, and do not drop it from a notice, which must give "
              "the principal reasons as they are")

#: Words in a feature's name (split at anything but letters) that suggest a protected attribute:
#: the prohibited bases of ECOA / Regulation B (race, color, religion, national origin, sex,
#: marital status, age, receipt of public assistance) and of EU non-discrimination law, with the
#: names data carries them under (a fair-lending review, 2026-12-05, found national_origin,
#: date_of_birth, is_male and public_assistance missed).
PROTECTED_WORDS = frozenset({
    "age", "agegroup", "ageband", "birth", "dob", "birthdate", "birthday", "yob",
    "sex", "gender", "male", "female", "pregnancy", "pregnant",
    "race", "racial", "color", "colour", "ethnic", "ethnicity", "hispanic", "latino", "latina",
    "religion", "religious",
    # Taiwan's credit-card book names marital status MARRIAGE (a walk-through, 2026-12-05).
    "marital", "married", "marriage", "spouse", "husband", "wife", "widowed", "widow", "divorced",
    "nationality", "national", "foreign", "citizenship", "citizen", "immigrant", "immigration",
    "disability", "disabled", "handicap",
    "assistance", "welfare",
})


#: Things whose age, origin or colour a name may give: "age" right after one of them (loan_age,
#: OWN_CAR_AGE, AccountAge, CreditLineAge) or "age of" one (ageOfAccount) is the thing's, not the
#: applicant's (a review, 2026-12-05); "age_at_loan" stays the applicant's.
_THINGS = frozenset({"car", "vehicle", "loan", "account", "line", "trade", "tradeline", "property", "mortgage", "card",
                     "file", "record", "policy", "asset", "house", "home", "contract", "facility", "product"})
#: A protected word followed by one of these names a thing: a currency, a bank, an identity
#: document, an average, a race track (foreign_currency_share, nationalBankFlag, NATIONAL_ID_VALID,
#: dti_national_avg, RaceTrack; ColorOfCar is "of car"). gender_id and race_id stay the applicant's.
_QUALIFIED = {"national": frozenset({"currency", "bank", "id", "avg", "average", "exchange", "holiday", "insurance"}),
              "foreign": frozenset({"currency", "bank", "exchange"}), "race": frozenset({"track"})}


def _a_things(words: list[str], i: int) -> bool:
    """Whether protected word ``words[i]`` describes a thing: "<thing> age", "<word> of <thing>",
    or "<word> <currency|bank|id|...>"."""
    before = words[i - 1] if i > 0 else ""
    after = words[i + 1] if i + 1 < len(words) else ""
    of_thing = after == "of" and i + 2 < len(words) and words[i + 2] in _THINGS
    return (words[i] == "age" and before in _THINGS) or of_thing or after in _QUALIFIED.get(words[i], ())


#: Words of :data:`PROTECTED_WORDS` that name an applicant's age (asked on an application, as
#: Regulation B allows, unlike sex or marital status in most cases).
AGE_WORDS = frozenset({"age", "agegroup", "ageband", "birth", "dob", "birthdate", "birthday", "yob"})


def names_age(name: str) -> bool:
    """Whether ``name`` is protected only as an age (age_in_years, date_of_birth): its words of
    :data:`PROTECTED_WORDS` are all age words."""
    words = [w for w in _ordered_words(name) if w in PROTECTED_WORDS]
    return bool(words) and all(w in AGE_WORDS for w in words)


def likely_protected(names: Iterable[str]) -> list[str]:
    """The ``names`` holding a word of :data:`PROTECTED_WORDS` (German credit's age_in_years,
    personal_status_and_sex, foreign_worker; MaritalStatus, whose words camelCase separates) that
    describes the applicant rather than a thing (not loan_age, OWN_CAR_AGE, foreign_currency_share:
    :func:`_a_things`), in their order. gender_id and age_at_loan are the applicant's."""
    out = []
    for name in names:
        words = _ordered_words(name)
        if any(w in PROTECTED_WORDS and not _a_things(words, i) for i, w in enumerate(words)):
            out.append(name)
    return out


def _ordered_words(name: str) -> list[str]:
    """A name's words in order: split at anything but letters and where camelCase turns."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(name))
    return [w for w in re.split(r"[^a-z]+", spaced.lower()) if w]


#: Words in a feature's name that say it locates the applicant: a geography is no protected
#: attribute, but it can stand in for one (redlining), so the report and the model card name such
#: features (a walk-through, 2026-12-05: LendingClub's zip_code and addr_state went unmentioned).
GEOGRAPHY_WORDS = frozenset({
    "zip", "zipcode", "postal", "postcode", "county", "tract", "census", "msa", "cbsa",
    "neighborhood", "neighbourhood", "city", "region", "district", "province", "state", "address", "addr",
})
#: Words that make "state" or "address" no place (a review, 2026-12-05): time_at_address,
#: email_address, loan_state, application_state, marital_state, state_employee.
_NOT_A_PLACE = frozenset({"time", "years", "months", "at", "email", "ip", "mac", "web", "url", "loan", "application",
                          "account", "marital", "status", "employee"})


def name_words(name: str) -> set[str]:
    """A name's words: split at anything but letters and where camelCase turns ("BorrState")."""
    return set(_ordered_words(name))


def likely_geography(names: Iterable[str]) -> list[str]:
    """The ``names`` holding a word of :data:`GEOGRAPHY_WORDS` and none of a tenure, a contact or
    a status (zip_code, addr_state, BorrState, residence_state; not time_at_address or loan_state),
    in their order."""
    return [name for name in names if (words := name_words(name)) & GEOGRAPHY_WORDS and not words & _NOT_A_PLACE]


#: Words in a feature's name that name a party to the loan other than the applicant: the lender,
#: its branch or staff, an intermediary (SBA's Bank and BankState). As the principal reason of a
#: decline such a column tells the applicant where they applied, not what about them led to the
#: decision (a validator's walk-through, 2026-12-05: Bank led 5-6.5 % of SBA's declines, unremarked).
OTHER_PARTY_WORDS = frozenset({"bank", "lender", "branch", "officer", "broker", "dealer", "dealership", "servicer",
                               "originator", "underwriter", "institution", "seller", "retailer", "vendor", "channel"})
#: Words that make such a name the applicant's own record with that party: German credit's
#: number_of_existing_credits_at_this_bank, has_bank_account, years_with_bank, bank_balance.
_APPLICANTS_OWN = frozenset({"credit", "credits", "account", "accounts", "number", "num", "existing", "balance",
                             "balances", "years", "months", "time", "with", "at", "deposit", "deposits", "customer",
                             "has", "is", "relationship", "statement", "statements", "card", "cards", "loans", "debt",
                             "debts", "overdraft", "overdrafts", "inquiry", "inquiries", "enquiry", "enquiries",
                             "tenure", "utilization", "utilisation", "limit", "limits", "employee", "employer", "count",
                             "cnt", "total", "amt", "amount"})


def likely_other_party(names: Iterable[str]) -> list[str]:
    """The ``names`` holding a word of :data:`OTHER_PARTY_WORDS` and none that make it the
    applicant's own record with that party (Bank, BankState, lender_id, loan_officer; not
    number_of_existing_credits_at_this_bank or bank_account), in their order."""
    return [name for name in names if (words := name_words(name)) & OTHER_PARTY_WORDS and not words & _APPLICANTS_OWN]


#: Words in a feature's name that say it dates the loan's origination on their own (a vintage, a
#: cohort), and the year words that do so beside a word of the loan's origination
#: (:data:`_ORIGINATION_WORDS`: SBA's ApprovalFY, issue_year, orig_yr): a validator reads a model's
#: decisions per vintage, where drift and a changed policy show first (a walk-through, 2026-12-05).
VINTAGE_WORDS = frozenset({"vintage", "cohort"})
_YEAR_WORDS = frozenset({"fy", "year", "yr"})
#: A year beside one of these is the loan's origination; a year alone is anything: a count over the
#: last year (AMT_REQ_CREDIT_BUREAU_YEAR), a rate per year, a car's model year, a house's year built
#: (a review, 2026-12-05).
_ORIGINATION_WORDS = frozenset({"issue", "issued", "approval", "approved", "orig", "origination", "originated",
                                "funded", "funding", "disbursement", "disbursed", "application", "applied", "booking",
                                "booked", "acquisition", "acquired", "loan", "note"})
#: Words that make even such a name a quantity, not a date: loan_amount_year, approval_count_yr.
_QUANTITY_WORDS = frozenset({"amt", "amnt", "amount", "count", "cnt", "num", "number", "per", "rate", "income", "revenue",
                             "req", "requests", "term", "sum", "total", "avg", "mean"})


def likely_vintage(names: Iterable[str]) -> list[str]:
    """The ``names`` that date the loan's origination (:data:`VINTAGE_WORDS`, or a year word beside
    an origination word, and no quantity word: ApprovalFY, issue_year, loan_vintage; not
    AMT_REQ_CREDIT_BUREAU_YEAR, income_per_year, model_year or year_built), in their order, leaving
    out those named like a protected attribute (a birth year)."""
    names = list(names)
    protected = set(likely_protected(names))
    out = []
    for name in names:
        words = name_words(name)
        dated = bool(words & VINTAGE_WORDS) or bool(words & _YEAR_WORDS and words & _ORIGINATION_WORDS)
        if dated and not words & _QUANTITY_WORDS and name not in protected:
            out.append(name)
    return out
