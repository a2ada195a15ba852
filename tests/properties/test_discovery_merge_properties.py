"""The merge of two ticks' listings of one discovery (`merge_discovered`), over any
three sets of names: nothing either tick added is forgotten, a name both dropped is
dropped, and a name only one dropped follows the later listing."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dlf_status.domain.discovered import DiscoveredJobs, merge_discovered

NAMES = st.frozensets(st.sampled_from("abcdefgh"), max_size=8)
TIMES = st.sampled_from(["2026-11-25T09:05:00.000Z", "2026-11-25T09:10:00.000Z"])


@given(base=NAMES, ours=NAMES, theirs=NAMES, our_time=TIMES, their_time=TIMES)
def test_a_merge_forgets_no_name_either_tick_added_and_keeps_no_name_both_dropped(
    base: frozenset[str],
    ours: frozenset[str],
    theirs: frozenset[str],
    our_time: str,
    their_time: str,
) -> None:
    merged = merge_discovered(
        base, DiscoveredJobs(our_time, ours), DiscoveredJobs(their_time, theirs)
    )

    assert (ours | theirs) - base <= merged.jobs
    assert ours & theirs <= merged.jobs
    assert merged.jobs <= ours | theirs
    assert not (base - ours - theirs) & merged.jobs
    assert merged.listed_at == max(our_time, their_time)
    later = ours if our_time >= their_time else theirs
    assert (ours ^ theirs) & base & merged.jobs == (ours ^ theirs) & base & later


@given(ours=NAMES, theirs=NAMES)
def test_a_tick_that_read_no_last_listing_keeps_every_stored_name(
    ours: frozenset[str], theirs: frozenset[str]
) -> None:
    merged = merge_discovered(
        frozenset(),
        DiscoveredJobs("2026-11-25T09:10:00.000Z", ours),
        DiscoveredJobs("2026-11-25T09:05:00.000Z", theirs),
    )

    assert merged.jobs == ours | theirs
