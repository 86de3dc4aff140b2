"""One generic lazy registry, used for datasets, architectures, recipes, recipe handlers, explainers and views.

Entries are registered by the modules that define them. A registry knows which modules provide its
entries (``providers``: module names, or a callable returning them) and imports them on the first lookup
that misses, so listing cheap things never imports heavy ones. Unknown names raise
:class:`UnknownNameError` (a ``KeyError``) that lists what is available.
"""
from __future__ import annotations

import importlib
from typing import Callable, Generic, Iterable, Iterator, TypeVar

T = TypeVar("T")


class UnknownNameError(KeyError):
    """A name that no provider registered; the message lists the available ones."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class Registry(Generic[T]):
    """Named entries of one kind (``what``: "recipe", "explanation method", ...), filled lazily by ``providers``."""

    def __init__(self, what: str, providers: Iterable[str] | Callable[[], Iterable[str]] = ()):
        self.what = what
        self._providers = providers
        self._entries: dict[str, T] = {}
        self._loaded = False

    def _provider_modules(self) -> list[str]:
        return list(self._providers() if callable(self._providers) else self._providers)

    def load(self) -> None:
        """Import every provider module once (each registers its entries when imported)."""
        if self._loaded:
            return
        self._loaded = True
        for module in self._provider_modules():
            importlib.import_module(module)

    def register(self, name: str, entry: T | None = None):
        """``register(name, entry)``, or ``@register(name)`` as a decorator. Re-registering replaces."""
        if entry is not None:
            self._entries[name] = entry
            return entry

        def wrap(obj: T) -> T:
            self._entries[name] = obj
            return obj

        return wrap

    def unregister(self, name: str) -> None:
        self._entries.pop(name, None)

    def get(self, name: str) -> T:
        if name not in self._entries:
            self.load()
        try:
            return self._entries[name]
        except KeyError:
            available = ", ".join(sorted(self._entries)) or "none"
            raise UnknownNameError(f"Unknown {self.what} {name!r}. Available: {available}.") from None

    __getitem__ = get

    def names(self) -> list[str]:
        """Every registered name, in registration order."""
        self.load()
        return list(self._entries)

    def items(self) -> list[tuple[str, T]]:
        self.load()
        return list(self._entries.items())

    def __contains__(self, name: object) -> bool:
        self.load()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())
