"""Stream indexing and keyframe matching by stamp."""

from __future__ import annotations

from warp_refine_ros.bags.stream_index import index_stream, match_keyframes


def test_index_puts_late_images_in_place_and_drops_repeated_and_far_back_stamps():
    ms = 1_000_000
    recorded = [2000, 2100, 2100, 2050, 2200, 1000, 2300]  # a repeat, one 50 ms late, one stamped 1.2 s back
    index = index_stream("bag", "/cam", [(i, stamp * ms) for i, stamp in enumerate(recorded)])
    assert index.stamps == [s * ms for s in (2000, 2050, 2100, 2200, 2300)]
    assert index.log_times == [0, 3, 1, 4, 6] and index.reordered == 1
    assert index.out_of_order == (2100 * ms, 1000 * ms)


def test_matching_exact_within_tolerance_and_outside_span():
    stamps = [100, 200, 300, 400]
    exact = match_keyframes(stamps, [200, 400, 900, 10], 0)
    assert exact.by_index == {1: 200, 3: 400} and exact.missed == {}  # 900 and 10: other bags
    near = match_keyframes(stamps, [205, 290, 250], 10)
    assert near.by_index == {1: 205, 2: 290}
    assert near.missed == {250: 200}


def test_an_image_carries_at_most_the_nearest_keyframe():
    result = match_keyframes([100, 200], [196, 203], 10)
    assert result.by_index == {1: 203} and result.missed == {196: 200}
