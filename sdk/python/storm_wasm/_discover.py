"""Which class of a module is the plugin, and which world it needs.

The rule, in order: the class named on the command line (``--class``); the
class passed to :func:`storm_wasm.export_bolt` / :func:`export_spout`; the one
bolt or spout class *defined* in the module (imported ones do not count).
"""

import ast

from .bolt import BatchingBolt, Bolt
from .spout import Spout

_exported = {}
_SDK_CLASSES = (Bolt, BatchingBolt, Spout)


class DiscoveryError(Exception):
    """No single plugin class could be found."""


def export(cls, kind):
    """Records ``cls`` as the module's plugin (used by ``export_bolt``)."""
    base = Bolt if kind == "bolt" else Spout
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise TypeError(f"export_{kind} needs a subclass of storm_wasm.{base.__name__}, got {cls!r}")
    _exported[cls.__module__] = cls
    return cls


def world_of(cls):
    """``"bolt"`` or ``"spout"``."""
    return "spout" if issubclass(cls, Spout) else "bolt"


def find_class(module, class_name=None):
    """The plugin class of an imported ``module``."""
    if class_name:
        cls = getattr(module, class_name, None)
        if cls is None:
            raise DiscoveryError(f"{module.__name__} has no class {class_name}")
    elif module.__name__ in _exported:
        cls = _exported[module.__name__]
    else:
        found = [
            c
            for c in vars(module).values()
            if isinstance(c, type)
            and issubclass(c, (Bolt, Spout))
            and c not in _SDK_CLASSES
            and c.__module__ == module.__name__
        ]
        # A base class that other classes of the module extend is not the plugin.
        leaves = [c for c in found if not any(o is not c and issubclass(o, c) for o in found)]
        if len(leaves) != 1:
            names = ", ".join(sorted(c.__name__ for c in leaves)) or "none"
            raise DiscoveryError(
                f"{module.__name__} must define exactly one Bolt or Spout subclass (found: {names}); name it with "
                "`--class NAME` or end the module with storm_wasm.export_bolt(NAME)"
            )
        cls = leaves[0]
    if not (isinstance(cls, type) and issubclass(cls, (Bolt, Spout))):
        raise DiscoveryError(f"{module.__name__}.{class_name} is not a Bolt or Spout subclass")
    return cls


def _base_names(node):
    for base in node.bases:
        if isinstance(base, ast.Name):
            yield base.id
        elif isinstance(base, ast.Attribute):
            yield base.attr


def guess_world(source, class_name=None):
    """The world of a module from its source, without running it (the build
    must pick the world before componentize-py imports the module):
    ``"spout"`` when the plugin class (or, without ``class_name``, every
    top-level class that names a bolt or spout base) derives from a name
    ending in ``Spout``, else ``"bolt"``. The component checks the real
    class when it is built, so a wrong guess is an error, never a bad
    plugin."""
    tree = ast.parse(source)
    classes = {n.name: list(_base_names(n)) for n in tree.body if isinstance(n, ast.ClassDef)}

    def is_spout(name, seen=()):
        for base in classes.get(name, []):
            if base.endswith("Spout") or (base in classes and base not in seen and is_spout(base, seen + (name,))):
                return True
        return False

    def is_bolt(name, seen=()):
        for base in classes.get(name, []):
            if base.endswith("Bolt") or (base in classes and base not in seen and is_bolt(base, seen + (name,))):
                return True
        return False

    if class_name:
        return "spout" if is_spout(class_name) else "bolt"
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name in ("export_bolt", "export_spout"):
                return name[len("export_") :]
    spouts = [c for c in classes if is_spout(c)]
    bolts = [c for c in classes if is_bolt(c)]
    return "spout" if spouts and not bolts else "bolt"
