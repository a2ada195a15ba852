"""Hypothesis strategies for hostile settings and flags: what an operator's typo, a
broken template or an attacker with access to the environment can put there.

Every kind of value is offered to every variable and flag: numbers where a URL is
expected find as many crashes as URLs where a number is.
"""

from __future__ import annotations

from hypothesis import strategies as st

# Any code point, lone surrogates included (bytes that were not UTF-8 arrive as those).
any_character = st.characters(codec=None, exclude_categories=())
any_text = st.text(any_character, max_size=40)
control_text = st.text(
    st.sampled_from(["\x00", "\n", "\r", "\t", "\x1b", "\x7f", "\x85", "\u2028", "\u202e"]),
    min_size=1,
    max_size=3,
)

# Numbers as people and programs write them, good and bad.
number_text = st.one_of(
    st.integers().map(str),
    st.integers(min_value=-(10**30), max_value=10**30).map(lambda n: f"{n:_}"),
    st.floats().map(repr),
    st.floats(allow_nan=False).map(lambda x: f"{x:e}"),
    st.sampled_from(
        [
            "0",
            "-0",
            "0.0",
            "inf",
            "-inf",
            "nan",
            "NaN",
            "1e309",
            "1e-320",
            "Infinity",
            "9" * 5000,
            "0x10",
            "+5",
            " 5",
            "5 ",
            "1_0",
            "\uff11\uff10",  # fullwidth "10"
            "\u0968",  # Devanagari digit two
            "\u00b2",  # superscript two: isdigit() but not int()
            "3.",
            ".5",
            "00000000000000000000000000000000001",
        ]
    ),
)

_schemes = st.sampled_from(["http", "https", "HTTP", "ftp", "s3", "file", "", "http:", "js"])
_hosts = st.one_of(
    st.sampled_from(
        [
            "localhost",
            "127.0.0.1",
            "[::1]",
            "[::1",
            "::1]",
            "[::1%25eth0]",
            "[v1.x]",
            "exa mple.com",
            "xn--bcher-kva.example",
            "b\u00fccher.example",
            "a" * 64 + ".example",
            "-bad-.example",
            "user:pass@host",
            "host\\@evil",
            "",
            ".",
            "999.1.1.1",
        ]
    ),
    any_text,
)
_ports = st.one_of(
    st.sampled_from(["", ":", ":0", ":1", ":80", ":65535", ":65536", ":99999", ":-1", ":+80"]),
    st.integers().map(lambda n: f":{n}"),
    any_text.map(lambda text: ":" + text),
)
_paths = st.sampled_from(["", "/", "/prefix/", "/%zz", "/%41", "?q=1", "#frag", "/a b", "//x"])
url_text = st.builds(lambda s, h, p, path: f"{s}://{h}{p}{path}", _schemes, _hosts, _ports, _paths)

_buckets = st.one_of(
    st.sampled_from(
        [
            "",
            "snapshots",
            "ab",
            "a" * 63,
            "a" * 64,
            "a" * 255,
            "a" * 256,
            "Legacy_Bucket",
            "UPPER",
            "under_score",
            "192.168.1.1",
            "a..b",
            "-a-",
            "a.b-c",
        ]
    ),
    any_text,
)
_keys = st.one_of(
    st.sampled_from(["", "/", "prefix", "prefix/", "a//b", "./a", "a/../b", "k" * 1100, "j.yaml"]),
    any_text,
)
s3_text = st.builds(lambda bucket, key: f"s3://{bucket}/{key}", _buckets, _keys) | st.just("s3://")

word_text = st.sampled_from(
    [
        "true",
        "FALSE",
        "yes",
        "maybe",
        "lenient",
        "STRICT",
        "loose",
        "debug",
        "WARN",
        "TRACE",
        "cn-north-4",
        "mars-1",
        "dlf/creds",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:dlf-AbCdEf",
        "./snapshots",
        "/",
        "relative/dir",
        "gs://bucket/x",
    ]
)

# One strategy for every setting: a mix of every kind, hostile and plausible.
setting_values = st.one_of(
    any_text,
    number_text,
    url_text,
    s3_text,
    word_text,
    st.builds(lambda good, bad: good + bad, word_text | number_text, control_text),
)
