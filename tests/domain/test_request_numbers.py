"""Request numbers the providers accept: [A-Za-z0-9_]{6,32}, deterministic, and read back."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain import request_numbers as numbers

PROVIDER_RULE = re.compile(r"^[A-Za-z0-9_]{6,32}$")  # Alipay out_request_no + Pay Score out_order_no, together
HEX = st.text("0123456789abcdef", min_size=20, max_size=20)
# What each kind of object asks of a provider: once per object, or the n-th of its kind (up to 99).
OPERATIONS = {
    "rt": (["freeze", "rent", "overdue", "release", "fulfil", "deposit"], ["ded", "renew", "renewx"]),
    "trl": (["freeze", "release"], []),
    "ord": (["pl"], ["charge", "rfd"]),
    "bkg": (["pl"], ["charge", "rfd"]),
}


@st.composite
def requests(draw):
    prefix = draw(st.sampled_from(sorted(OPERATIONS)))
    once, counted = OPERATIONS[prefix]
    purpose = draw(st.sampled_from(once + counted))
    most = 9 if purpose == "charge" else 99  # attempts: 1 + policy.charge_retries (3), kept under 10
    return f"{prefix}_{draw(HEX)}", purpose, draw(st.integers(1, most)) if purpose in counted else None


@given(requests())
def test_every_number_is_one_both_providers_accept_and_reads_back(request):
    object_id, purpose, n = request
    text = numbers.number(object_id, purpose, n)
    assert PROVIDER_RULE.match(text) and "-" not in text
    assert numbers.split(text) == (object_id, purpose, n)
    assert numbers.number(object_id, purpose, n) == text  # the same operation, the same number


def test_a_number_a_provider_would_refuse_is_never_made():
    with pytest.raises(ValueError):
        numbers.number("rt_" + "a" * 30, "renewx", 1)  # longer than 32
    with pytest.raises(ValueError):
        numbers.number("rt-abc", "freeze")


def test_other_texts_are_not_our_numbers():
    assert numbers.split("rt_abc-freeze") is None and numbers.split(None) is None
    assert numbers.object_of("ord_ab12cd_charge1", "rt") is None
    assert numbers.object_of("rt_ab12cd_ded2", "rt", "ded") == "rt_ab12cd"


@given(st.integers(0, 2**40))
def test_a_consent_number_fits_with_a_member_id(seconds):
    assert PROVIDER_RULE.match(numbers.consent_number("m_" + "f" * 20, seconds))
