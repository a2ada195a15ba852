"""Hypothesis strategies for job-list pages (ListJobs): the contract's fields, well
or badly typed, mixed with unknown ones, and pages that are not objects at all."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.properties.strategies import READABLE_MILLIS, json_values

JOB_TYPES = st.sampled_from(["REAL_TIME", "BATCH", "real_time", "STREAM"])
LIST_STATUSES = st.sampled_from(
    ["NORMAL", "EXCEPTION", "STARTING", "STOPPING", "STOPPED", "SCHEDULING", "PAUSED", "odd"]
)
TIME_KEYS = ("startTime", "endTime", "lastInstanceEndTime", "lastUpdateTime")
TEXT_KEYS = ("owner", "lastInstanceStatus", "lastUpdateUser", "path", "flinkJobInfo")


def _typed_or_not(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(good, good, good, json_values)


alarms = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "alarmType": _typed_or_not(st.sampled_from(["FAIL", "SUCCESS"])),
            "topicUrn": _typed_or_not(st.text(max_size=10)),
        },
    ),
    max_size=2,
)

listed_jobs = st.builds(
    lambda required, optional, unknown: {**unknown, **required, **optional},
    st.fixed_dictionaries(
        {},
        optional={
            "name": _typed_or_not(st.text(min_size=1, max_size=12)),
            "jobType": _typed_or_not(JOB_TYPES),
            "status": _typed_or_not(LIST_STATUSES),
            "createUser": _typed_or_not(st.text(max_size=8)),
            "createTime": _typed_or_not(READABLE_MILLIS),
        },
    ),
    st.fixed_dictionaries(
        {},
        optional={
            **{key: _typed_or_not(READABLE_MILLIS | st.none()) for key in TIME_KEYS},
            **{key: _typed_or_not(st.text(max_size=10) | st.none()) for key in TEXT_KEYS},
            "priority": _typed_or_not(st.integers(min_value=-1, max_value=3) | st.none()),
            "singleNodeJobFlag": _typed_or_not(st.booleans() | st.none()),
            "alarms": _typed_or_not(alarms | st.none()),
        },
    ),
    st.dictionaries(
        st.text(min_size=1, max_size=8).map(lambda key: "x_" + key), json_values, max_size=2
    ),
)

job_list_pages = st.fixed_dictionaries(
    {},
    optional={
        "total": _typed_or_not(st.integers(min_value=-1, max_value=500)),
        "jobs": _typed_or_not(st.lists(listed_jobs | json_values, max_size=5)),
        "x_page": json_values,
    },
)
