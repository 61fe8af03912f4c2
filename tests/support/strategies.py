"""Hypothesis strategies of the rich model (tests/support/query_models.py): values drawn from
small pools (so that queries hit stored values) that hold what breaks query languages:
punctuation, spaces, unicode, big and negative numbers, datetimes past 2**53 µs. Used by the
differential test and the unit tier's codec round trips."""

from __future__ import annotations

import datetime as dt
import uuid

from hypothesis import strategies as st

from tests.support.query_models import Address, Color, Item, Size, Thing

UTC = dt.timezone.utc

# -- pools: values are drawn from small pools so that queries hit stored values -------------

STRINGS = ["", " ", "a", "A", "ab", "abc", "Abc", "a b", "a  b", " a", "b ", "a-b", "a,b",
           "a|b", "a*", "*", "%", "_", "a%b", "a_b", "a\\b", "\\", "{x}", "(y)", "@t:{v}",
           '"q"', "it's", "é", "É", "ä", "Ärger", "ärger", "straße", "日本", "😀", "a😀",
           "x.y", "$p0", "-neg", "~t", "?", "`", "+1", "=", "<>", "[]", ";", ":", "!", "#",
           "^", "&", "/"]
CHARS = "aAbB é_%\\*-|:.{}()\"'😀Ä"
WORDS = ["alpha", "Beta", "gamma", "déjà", "x_y", "42", "ÄRGER", "ärger", "run", "running",
         "the", "a"]
SEPARATORS = [" ", ", ", "-", ". ", "  ", "/", "'"]
INTS = [-2**53, -7, -1, 0, 1, 2, 3, 10, 2**31, 2**53]
FLOATS = [-1e300, -2.5, -1.5, -0.0, 0.0, 1e-9, 0.1, 0.5, 1.0, 2.5, 3.0, 1e16, 1e300]
INSTANTS = [
    dt.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    dt.datetime(1970, 1, 1, tzinfo=UTC),
    dt.datetime(2024, 1, 1, tzinfo=UTC),
    dt.datetime(2024, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
    dt.datetime(2024, 1, 1, 2, tzinfo=dt.timezone(dt.timedelta(hours=2))),  # = 2024-01-01 UTC
    dt.datetime(2024, 6, 30, 12, 30),  # naive: UTC
    dt.datetime(2100, 1, 1, tzinfo=UTC),
]
# Past ±2**53 µs (about 1685 and 2255) a double no longer tells microseconds apart: each group
# shares one double (2**53 + 1 rounds to 2**53), so only exact comparison orders and tells them
# apart. Drawn as often as the others, so that datasets hold several of one group.
FAR_INSTANTS = [
    dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(microseconds=2**53),
    dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(microseconds=2**53 + 1),
    dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(microseconds=2**53 - 1),
    dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    dt.datetime(9999, 12, 31, 23, 59, 59, 999990, tzinfo=UTC),
    dt.datetime(9999, 12, 31, 23, 59, 59, 999984),  # naive: UTC
    dt.datetime(1, 1, 1, tzinfo=UTC),
    dt.datetime(1, 1, 1, 0, 0, 0, 3, tzinfo=UTC),
]
DAYS = [dt.date(1969, 12, 31), dt.date(1970, 1, 1), dt.date(2024, 1, 1), dt.date(2024, 2, 29)]
UUIDS = [uuid.UUID(int=0), uuid.UUID(int=1), uuid.UUID("12345678-1234-5678-1234-567812345678")]
REGEXES = ["^a", "b$", "(?i)ä", "\\\\", ".", "^$", "a.*b", "[%_]", "\\s", "^\\W", "😀"]

strings = st.one_of(st.sampled_from(STRINGS), st.text(CHARS, max_size=5))
optional_strings = st.one_of(st.none(), strings)
texts = st.builds(
    lambda words, seps: "".join(w + s for w, s in zip(words, seps)).strip(),
    st.lists(st.sampled_from(WORDS), max_size=5), st.lists(st.sampled_from(SEPARATORS),
                                                           min_size=5, max_size=5),
)
ints = st.sampled_from(INTS)
floats = st.sampled_from(FLOATS)
instants = st.one_of(st.sampled_from(INSTANTS), st.sampled_from(FAR_INSTANTS))

things = st.builds(
    Thing,
    id=st.text("abcdefgh0123-:. ", min_size=1, max_size=4),
    name=strings,
    title=strings,
    body=texts,
    blurb=texts,
    age=ints,
    score=floats,
    active=st.booleans(),
    nick=optional_strings,
    rank=st.one_of(st.none(), ints),
    color=st.sampled_from(list(Color)),
    size=st.one_of(st.none(), st.sampled_from(list(Size))),
    born=st.one_of(st.none(), instants),
    day=st.one_of(st.none(), st.sampled_from(DAYS)),
    ref=st.one_of(st.none(), st.sampled_from(UUIDS)),
    tags=st.lists(strings, max_size=3),
    nums=st.lists(floats, max_size=3),
    address=st.one_of(st.none(), st.builds(Address, city=strings, zip=optional_strings)),
    items=st.lists(st.builds(Item, sku=strings, qty=st.sampled_from([0, 1, 2, 5])),
                   max_size=3),
)
