"""Reference values of the statistics tests (CLINICAL_RULES.md section 6) and the lifelines helpers
that test_statistics_reference.py and test_statistics_duration.py share. No database."""
import warnings

import numpy as np
from lifelines import KaplanMeierFitter

EXACT_REFERENCE = [
    # (responders, n, lower, upper) - CLINICAL_RULES.md section 6, 4 decimals
    (1, 3, 0.0084, 0.9057),
    (0, 6, 0.0000, 0.4593),
    (6, 6, 0.5407, 1.0000),
    (7, 10, 0.3475, 0.9333),
    (10, 20, 0.2720, 0.7280),
]


WILSON_REFERENCE = [
    (1, 3, 0.0615, 0.7923),
    (6, 6, 0.6097, 1.0000),
    (10, 20, 0.2993, 0.7007),
]


CHECK_TIMES = (3, 5, 6, 6, 8, 10, 12)


CHECK_EVENTS = (1, 0, 1, 1, 0, 1, 0)


def lifelines_fit(times, events, confidence=0.95):
    """lifelines' default interval is the exponential Greenwood ("log(-log)") one, the product's."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return KaplanMeierFitter(alpha=1 - confidence).fit(np.asarray(times, float), np.asarray(events, bool))


def lifelines_at(frame, time):
    """The row of a lifelines frame (indexed by its timeline) in force at ``time``."""
    return frame.loc[:time].iloc[-1].to_numpy()


# The section 6 check vector, as durations in days: (3,1) (5,0) (6,1) (6,1) (8,0) (10,1) (12,0) months.
CHECK_DAYS = [(90, False), (150, True), (180, False), (180, False), (240, True), (300, False), (360, True)]
