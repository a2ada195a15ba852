"""Credentials read again while a container is warm (signing.DeferredAuthenticator):
after their max age, by one thread while the others sign; after a rejection, once for
all the threads rejected with the same credentials and at most once per
REJECTION_READ_SPACING; never a retry with the credentials that were rejected.
The clock is injected: no test waits."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from dlf_status.adapters.signing import (
    REJECTION_READ_SPACING,
    CredentialsInUse,
    DeferredAuthenticator,
)
from dlf_status.config import Credentials
from dlf_status.errors import ConfigurationError

FIRST = Credentials(auth_token="fake-renewal-token-0001")
SECOND = Credentials(auth_token="fake-renewal-token-0002")
THIRD = Credentials(auth_token="fake-renewal-token-0003")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Secret:
    """What the secret holds now; counts reads, can fail them, and records the order
    in which credentials were registered and used."""

    def __init__(self, value: Credentials) -> None:
        self.value: Credentials | ConfigurationError = value
        self.reads = 0
        self.events: list[tuple[str, Credentials]] = []
        # (reading, release): a read says it started, then waits to be released.
        self.hold: tuple[threading.Event, threading.Event] | None = None

    def read(self) -> Credentials:
        self.reads += 1
        if self.hold is not None:
            reading, release = self.hold
            reading.set()
            release.wait(30)  # a guard against a hang, not a timing
        if isinstance(self.value, ConfigurationError):
            raise self.value
        return self.value

    def registered(self, credentials: Credentials) -> None:
        self.events.append(("registered", credentials))


def _authenticator(
    secret: Secret, clock: Clock, max_age: float | None = 300.0
) -> DeferredAuthenticator:
    return DeferredAuthenticator(
        secret.read, on_read=secret.registered, max_age=max_age, monotonic=clock
    )


def _sign(authenticator: DeferredAuthenticator) -> tuple[str | None, CredentialsInUse]:
    headers: dict[str, str] = {}
    used = authenticator.authenticate_with(
        method="GET", host="h", path="/", headers=headers, project_id="p"
    )
    return headers.get("X-Auth-Token"), used


def test_credentials_are_read_again_once_past_their_max_age() -> None:
    secret, clock = Secret(FIRST), Clock()
    authenticator = _authenticator(secret, clock)
    assert _sign(authenticator)[0] == FIRST.auth_token

    secret.value = SECOND
    clock.now = 299.0
    assert (_sign(authenticator)[0], secret.reads) == (FIRST.auth_token, 1)
    clock.now = 300.0
    assert (_sign(authenticator)[0], secret.reads) == (SECOND.auth_token, 2)
    assert (_sign(authenticator)[0], secret.reads) == (SECOND.auth_token, 2)
    assert secret.events == [("registered", FIRST), ("registered", SECOND)]


def test_without_a_max_age_only_a_rejection_reads_again() -> None:
    secret, clock = Secret(FIRST), Clock()
    authenticator = _authenticator(secret, clock, max_age=None)
    _sign(authenticator)
    secret.value = SECOND
    clock.now = 1e9

    token, used = _sign(authenticator)

    assert (token, secret.reads) == (FIRST.auth_token, 1)
    assert authenticator.renewed_after_rejection(used)
    assert (_sign(authenticator)[0], secret.reads) == (SECOND.auth_token, 2)


def test_a_failed_read_again_keeps_the_credentials_in_use() -> None:
    secret, clock = Secret(FIRST), Clock()
    authenticator = _authenticator(secret, clock)
    _sign(authenticator)
    secret.value = ConfigurationError("cannot read secret s: ThrottlingException")
    clock.now = 300.0

    assert _sign(authenticator)[0] == FIRST.auth_token
    assert _sign(authenticator)[0] == FIRST.auth_token
    assert secret.reads == 2  # not again at each call: the next read is a max age away
    _, used = _sign(authenticator)
    assert not authenticator.renewed_after_rejection(used)  # read, failed: no retry
    assert secret.reads == 3


def test_a_rejection_with_unchanged_credentials_reads_once_and_retries_nothing() -> None:
    secret, clock = Secret(FIRST), Clock()
    authenticator = _authenticator(secret, clock)
    _, first = _sign(authenticator)
    _, second = _sign(authenticator)

    assert not authenticator.renewed_after_rejection(first)
    assert secret.reads == 2
    # Signed before that read: the read already answered for it.
    assert not authenticator.renewed_after_rejection(second)
    assert secret.reads == 2


def test_rejections_read_at_most_once_per_spacing() -> None:
    secret, clock = Secret(FIRST), Clock()
    authenticator = _authenticator(secret, clock)
    _, used = _sign(authenticator)
    assert not authenticator.renewed_after_rejection(used)
    secret.value = SECOND

    clock.now = REJECTION_READ_SPACING / 2
    _, used = _sign(authenticator)
    assert not authenticator.renewed_after_rejection(used)
    assert secret.reads == 2

    clock.now = REJECTION_READ_SPACING
    assert authenticator.renewed_after_rejection(used)
    assert (_sign(authenticator)[0], secret.reads) == (SECOND.auth_token, 3)


def test_new_credentials_are_registered_before_they_sign_and_old_ones_stay() -> None:
    secret, clock = Secret(FIRST), Clock()
    registered: list[Credentials] = []
    signed_after: list[list[Credentials]] = []

    def register(credentials: Credentials) -> None:
        registered.append(credentials)

    authenticator = DeferredAuthenticator(secret.read, on_read=register, monotonic=clock)
    _, used = _sign(authenticator)
    signed_after.append(list(registered))
    secret.value = SECOND
    assert authenticator.renewed_after_rejection(used)
    token, _ = _sign(authenticator)
    signed_after.append(list(registered))

    assert token == SECOND.auth_token
    assert signed_after == [[FIRST], [FIRST, SECOND]]


def test_threads_rejected_together_read_once_and_all_retry() -> None:
    secret, clock = Secret(FIRST), Clock()
    authenticator = _authenticator(secret, clock)
    _, used = _sign(authenticator)
    secret.value = SECOND

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: authenticator.renewed_after_rejection(used), range(8)))

    assert answers == [True] * 8
    assert secret.reads == 2


def test_one_thread_reads_again_while_the_others_keep_signing() -> None:
    secret, clock = Secret(FIRST), Clock()
    reading, release = threading.Event(), threading.Event()
    authenticator = _authenticator(secret, clock)
    _sign(authenticator)

    secret.value = SECOND
    secret.hold = (reading, release)  # the next read blocks until released
    clock.now = 300.0
    reader = threading.Thread(target=_sign, args=(authenticator,))
    reader.start()
    assert reading.wait(30)

    others = [_sign(authenticator)[0] for _ in range(3)]  # do not wait for the read
    release.set()
    reader.join()

    assert others == [FIRST.auth_token] * 3
    assert _sign(authenticator)[0] == SECOND.auth_token


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("rotate"), st.sampled_from([FIRST, SECOND, THIRD])),
            st.tuples(st.just("fail"), st.none()),
            st.tuples(st.just("advance"), st.floats(0, 400, allow_nan=False)),
            st.tuples(st.just("sign"), st.none()),
            st.tuples(st.just("reject"), st.integers(0, 20)),
        ),
        max_size=40,
    )
)
def test_a_retry_is_never_offered_with_the_rejected_credentials(
    steps: list[tuple[str, object]],
) -> None:
    """Whatever the secret, the clock and the rejections do: `True` only when other
    credentials are in use, at most one read per rejection spacing for rejections, and
    every credential in use was registered before it signed."""
    secret, clock = Secret(FIRST), Clock()
    authenticator = _authenticator(secret, clock)
    signed: list[CredentialsInUse] = [_sign(authenticator)[1]]
    rejection_reads: list[float] = []
    for action, value in steps:
        if action == "rotate":
            assert isinstance(value, Credentials)
            secret.value = value
        elif action == "fail":
            secret.value = ConfigurationError("cannot read secret s: ThrottlingException")
        elif action == "advance":
            assert isinstance(value, float)
            clock.now += value
        elif action == "sign":
            _, used = _sign(authenticator)
            assert ("registered", used.credentials) in secret.events
            signed.append(used)
        else:
            assert isinstance(value, int)
            rejected = signed[value % len(signed)]
            before = secret.reads
            renewed = authenticator.renewed_after_rejection(rejected)
            if secret.reads > before:
                rejection_reads.append(clock.now)
            reads_before_signing = secret.reads
            _, now_used = _sign(authenticator)
            signed.append(now_used)
            if renewed and secret.reads == reads_before_signing:
                # (a read at this signature, past the max age, may find the secret
                # holding the rejected credentials again: the secret's word is kept)
                assert now_used.credentials != rejected.credentials
    assert all(
        later - earlier >= REJECTION_READ_SPACING for earlier, later in pairwise(rejection_reads)
    )
