"""Which features' names suggest a protected attribute (age, sex, nationality ...): a hint, never a
finding. The validation report names them when fairness was not asked for, and scoring warns
when an adverse-action reason names one, since a notice may not cite a protected characteristic
as a reason for a decline (ECOA / Regulation B)."""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["GEOGRAPHY_WORDS", "PROTECTED_WORDS", "likely_geography", "likely_protected"]

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
    "marital", "married", "spouse", "widowed", "divorced",
    "nationality", "national", "foreign", "citizenship", "citizen", "immigrant", "immigration",
    "disability", "disabled", "handicap",
    "assistance", "welfare",
})


def likely_protected(names: Iterable[str]) -> list[str]:
    """The ``names`` holding a word of :data:`PROTECTED_WORDS` (German credit's age_in_years,
    personal_status_and_sex, foreign_worker), in their order."""
    return [name for name in names if PROTECTED_WORDS & set(re.split(r"[^a-z]+", str(name).lower()))]


#: Words in a feature's name that say it locates the applicant: a geography is no protected
#: attribute, but it can stand in for one (redlining), so the report and the model card name such
#: features (a walk-through, 2026-12-05: LendingClub's zip_code and addr_state went unmentioned).
GEOGRAPHY_WORDS = frozenset({
    "zip", "zipcode", "postal", "postcode", "county", "tract", "census", "msa", "cbsa",
    "neighborhood", "neighbourhood", "city", "region", "district", "province",
})
# "state" and "address" locate only in these forms: time_at_address, email_address, loan_state
# and application_state locate no one (a review, 2026-12-05).
_PLACE_NAME = re.compile(r"(?:addr|address|home|borrower|applicant|property|bank)?[_\s.-]?state(?:[_\s.-]?code)?"
                         r"|(?:home|street|postal|mailing)?[_\s.-]?address", re.IGNORECASE)


def likely_geography(names: Iterable[str]) -> list[str]:
    """The ``names`` holding a word of :data:`GEOGRAPHY_WORDS`, or naming a state or an address
    (zip_code, addr_state, State), in their order."""
    return [name for name in names if GEOGRAPHY_WORDS & set(re.split(r"[^a-z]+", str(name).lower()))
            or _PLACE_NAME.fullmatch(str(name).strip())]
