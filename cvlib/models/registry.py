"""A name → builder table, so the command line and the notebooks find every model by name."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

__all__ = ["MODELS", "register_model", "build"]

MODELS: dict[str, Callable[..., nn.Module]] = {}


def register_model(name: str) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator that lists a builder under ``name`` (lower case, e.g. ``"vgg16"``)."""

    def wrap(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in MODELS:
            raise ValueError(f"model name {name!r} is registered twice")
        MODELS[name] = builder
        return builder

    return wrap


def build(name: str, **kwargs) -> nn.Module:
    """Build the registered model ``name``; ``ValueError`` lists the known names otherwise."""
    try:
        builder = MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(sorted(MODELS))}") from None
    return builder(**kwargs)
