"""Reading the path MTU a kernel learned from `ip -o route get` output (kernel/pmtu.py)."""

from protolab.kernel.pmtu import parse_cached_mtu


def test_a_learned_path_mtu_is_read_from_the_cache_part():
    shown = "10.0.3.80 via 10.0.1.1 dev eth0 src 10.0.1.10 uid 0 \\    cache expires 599sec mtu 1400 "
    assert parse_cached_mtu(shown) == 1400


def test_no_learned_path_mtu_is_none():
    assert parse_cached_mtu("10.0.3.80 via 10.0.1.1 dev eth0 src 10.0.1.10 uid 0 \\    cache ") is None
    assert parse_cached_mtu("") is None


def test_an_mtu_the_route_itself_sets_is_not_a_learned_one():
    assert parse_cached_mtu("10.0.3.80 via 10.0.1.1 dev eth0 src 10.0.1.10 mtu 1300 uid 0 \\    cache ") is None
