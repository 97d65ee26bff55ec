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
    # Taiwan's credit-card book names marital status MARRIAGE (a walk-through, 2026-12-05).
    "marital", "married", "marriage", "spouse", "husband", "wife", "widowed", "widow", "divorced",
    "nationality", "national", "foreign", "citizenship", "citizen", "immigrant", "immigration",
    "disability", "disabled", "handicap",
    "assistance", "welfare",
})


#: Words that make a protected word describe a thing, not the applicant (a review, 2026-12-05):
#: OWN_CAR_AGE, loan_age, AccountAge, CreditLineAge, foreign_currency_share, NATIONAL_ID_VALID,
#: nationalBankFlag, dti_national_avg, RaceTrack.
_NOT_A_PERSON = frozenset({"car", "vehicle", "loan", "account", "line", "trade", "tradeline", "property", "currency",
                           "bank", "id", "card", "track", "mortgage", "file", "record", "avg", "average", "policy"})
#: Words that make it the applicant's again (applicant_age_at_loan).
_A_PERSON = frozenset({"applicant", "borrower", "customer", "client", "person", "owner", "holder", "member",
                       "coapplicant", "cosigner", "guarantor"})


def likely_protected(names: Iterable[str]) -> list[str]:
    """The ``names`` holding a word of :data:`PROTECTED_WORDS` (German credit's age_in_years,
    personal_status_and_sex, foreign_worker; MaritalStatus, whose words camelCase separates) and
    none that makes it a thing's (loan_age, OWN_CAR_AGE) unless one makes it a person's
    (applicant_age_at_loan), in their order."""
    return [name for name in names
            if PROTECTED_WORDS & (words := _words(name)) and (not words & _NOT_A_PERSON or words & _A_PERSON)]


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


def _words(name: str) -> set[str]:
    """A name's words: split at anything but letters and where camelCase turns ("BorrState")."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(name))
    return {w for w in re.split(r"[^a-z]+", spaced.lower()) if w}


def likely_geography(names: Iterable[str]) -> list[str]:
    """The ``names`` holding a word of :data:`GEOGRAPHY_WORDS` and none of a tenure, a contact or
    a status (zip_code, addr_state, BorrState, residence_state; not time_at_address or loan_state),
    in their order."""
    return [name for name in names if (words := _words(name)) & GEOGRAPHY_WORDS and not words & _NOT_A_PLACE]
