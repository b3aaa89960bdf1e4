"""Property-based (stateful) tests over the rental, order/booking and coupon state machines.

Run: `pytest tests/properties` (bounded: about a minute on moto). Profiles (tests/properties/conftest.py):
default `dev`; `ci` when env CI is set (derandomized, no example database: reproducible);
HYPOTHESIS_PROFILE=long for a soak (10x examples, 2x steps). `-s` prints what the examples exercised.
"""
