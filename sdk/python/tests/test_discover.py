"""Finding the plugin class, and guessing the world from source."""

import types

import pytest
import storm_wasm
from storm_wasm import BatchingBolt, Bolt, Spout
from storm_wasm._discover import DiscoveryError, find_class, guess_world, world_of


def module(name, **classes):
    m = types.ModuleType(name)
    for cls_name, cls in classes.items():
        cls.__module__ = name
        cls.__name__ = cls_name
        setattr(m, cls_name, cls)
    return m


def test_the_one_class_defined_in_the_module_is_the_plugin():
    class Mine(Bolt):
        pass

    m = module("m1", Mine=Mine)
    m.Bolt = Bolt  # imported names do not count
    m.Imported = type("Imported", (Bolt,), {})  # defined elsewhere
    assert find_class(m) is Mine
    assert world_of(Mine) == "bolt"


def test_a_base_class_extended_in_the_module_is_not_the_plugin():
    class Base(Bolt):
        pass

    class Leaf(Base):
        pass

    assert find_class(module("m2", Base=Base, Leaf=Leaf)) is Leaf


def test_several_classes_need_a_name_or_an_export():
    class A(Bolt):
        pass

    class B(BatchingBolt):
        pass

    m = module("m3", A=A, B=B)
    with pytest.raises(DiscoveryError, match="exactly one Bolt or Spout subclass \\(found: A, B\\)"):
        find_class(m)
    assert find_class(m, "B") is B
    assert storm_wasm.export_bolt(A) is A
    assert find_class(m) is A
    with pytest.raises(DiscoveryError, match="has no class C"):
        find_class(m, "C")
    with pytest.raises(TypeError):
        storm_wasm.export_spout(A)


def test_spouts_are_found_too():
    class S(Spout):
        pass

    assert world_of(find_class(module("m4", S=S))) == "spout"
    with pytest.raises(DiscoveryError, match="found: none"):
        find_class(module("m5"))


@pytest.mark.parametrize(
    "source, class_name, world",
    [
        ("from storm_wasm import Bolt\nclass A(Bolt): pass\n", None, "bolt"),
        ("import storm_wasm\nclass A(storm_wasm.Spout): pass\n", None, "spout"),
        ("from storm_wasm import Spout\nclass Base(Spout): pass\nclass A(Base): pass\n", "A", "spout"),
        ("from storm_wasm import Spout, Bolt\nclass S(Spout): pass\nclass B(Bolt): pass\n", None, "bolt"),
        ("from storm_wasm import Spout, Bolt\nclass S(Spout): pass\nclass B(Bolt): pass\n", "S", "spout"),
        ("import storm_wasm\nclass X(object): pass\nstorm_wasm.export_spout(X)\n", None, "spout"),
        ("x = 1\n", None, "bolt"),
    ],
)
def test_guess_world(source, class_name, world):
    assert guess_world(source, class_name) == world
