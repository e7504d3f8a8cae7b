"""The backend seam: both deployments hand out the whole Deployment protocol, both backends the Backend one."""

from __future__ import annotations

import dataclasses
import inspect
import os

import pytest

from protolab.backends import get_backend
from protolab.backends.base import Backend, Deployment
from protolab.backends.compose import ComposeBackend, ComposeDeployment
from protolab.backends.ledger import exclusive_lock
from protolab.backends.netns import NetnsBackend, NetnsDeployment
from protolab.errors import BackendError


def members(protocol: type) -> tuple[set[str], dict[str, inspect.Signature]]:
    """The attributes (annotated) and the methods and properties a Protocol declares."""
    attributes = set(protocol.__annotations__)
    methods = {}
    for name, value in vars(protocol).items():
        if name.startswith("_"):
            continue
        if isinstance(value, property):
            attributes.add(name)
        elif inspect.isfunction(value):
            methods[name] = inspect.signature(value)
    return attributes, methods


def parameters(signature: inspect.Signature) -> list[tuple[str, inspect._ParameterKind]]:
    return [(p.name, p.kind) for p in signature.parameters.values()]


@pytest.mark.parametrize("implementation", [NetnsDeployment, ComposeDeployment])
def test_every_deployment_hands_out_the_whole_protocol(implementation):
    attributes, methods = members(Deployment)
    fields = {f.name for f in dataclasses.fields(implementation)}
    for name in attributes:
        assert name in fields or hasattr(implementation, name), f"{implementation.__name__} lacks {name}"
    for name, signature in methods.items():
        assert callable(getattr(implementation, name, None)), f"{implementation.__name__} lacks {name}()"
        assert parameters(inspect.signature(getattr(implementation, name))) == parameters(signature), name


@pytest.mark.parametrize("implementation", [NetnsBackend, ComposeBackend])
def test_every_backend_is_a_backend(implementation):
    attributes, methods = members(Backend)
    for name in attributes:
        assert hasattr(implementation, name)
    for name, signature in methods.items():
        assert parameters(inspect.signature(getattr(implementation, name))) == parameters(signature), name


def test_backends_are_registered_by_name():
    assert isinstance(get_backend("netns"), NetnsBackend) and get_backend("netns").name == "netns"
    assert isinstance(get_backend("compose"), ComposeBackend) and get_backend("compose").name == "compose"
    with pytest.raises(BackendError, match="unknown backend 'docker'"):
        get_backend("docker")


def test_a_deployment_that_attached_says_so():
    assert NetnsDeployment.attached is False  # built for the run, removed after it
    assert {f.name: f.default for f in dataclasses.fields(ComposeDeployment)}["attached"] is True


def test_a_compose_stack_is_never_kept_up_by_protolab():
    deployment = ComposeDeployment.__new__(ComposeDeployment)
    with pytest.raises(BackendError, match="does not bring networks up"):
        deployment.keep_up()


def test_an_exclusive_lock_is_refused_while_held_and_free_once_closed(tmp_path):
    path = tmp_path / "sub" / "x.lock"
    first = exclusive_lock(path)
    assert first is not None and path.exists()
    try:
        assert exclusive_lock(path) is None  # flock: another open file description conflicts, even in one process
    finally:
        os.close(first)
    again = exclusive_lock(path)
    assert again is not None
    os.close(again)
