"""The one threshold picker every evaluation harness uses."""

from bench.faces import pick_bars
from bench.harness import loosest_bar


def test_the_loosest_bar_within_the_budget_wins():
    rates = {10: 0.0, 20: 0.005, 30: 0.01, 40: 0.02, 50: 0.0}   # 50 is past the first breach
    assert loosest_bar(rates, rates.__getitem__) == (30, 0.01)
    assert loosest_bar(rates, rates.__getitem__, budget=0.0) == (10, 0.0)
    assert loosest_bar([1, 2], lambda bar: 0.5) is None


def test_the_face_bars_come_from_the_same_picker():
    table = {str(b): {"false_match": r} for b, r in ((0.5, 0.0), (0.55, 0.0), (0.575, 0.004), (0.6, 0.02),
                                                     (0.625, 0.0))}
    assert pick_bars(table) == (0.55, 0.575)
