"""Paired differences by seed: mean, 95% Student t interval and the verdict
the protocol reads from it (research/PROTOCOL.md): "ahead" only when the whole
interval is above zero."""
import statistics

# Two-sided 95% Student t quantiles by degrees of freedom (pairs - 1).
T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
        9: 2.262}


def interval(diffs):
    """(mean, half width) of the 95% t interval of `diffs` (at least 2)."""
    return (statistics.mean(diffs),
            T975[len(diffs) - 1] * statistics.stdev(diffs) / len(diffs) ** 0.5)


def verdict(mean, half):
    return "ahead" if mean - half > 0 else "behind" if mean + half < 0 else "not distinguishable"
