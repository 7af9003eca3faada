"""Mirror sizing against copy ratios measured in ngspice (real GF180MCU models)."""

import itertools
import re

import pytest

from exporters.blocks import Block, Sizing
from exporters.mirrors import _deck, characterize
from exporters.pdk import gf180mcu
from exporters.simulate import run_deck

UNIT, VDD = 7e-10, 0.9
RATIOS = (3.9, 1.0, 0.2, 0.05, 0.0118, 0.005)


@pytest.fixture(scope="module")
def models():
    return gf180mcu()


def copies(models, mirrors):
    """What each of ``mirrors`` copies of the unit current, in ngspice."""
    vectors = run_deck(_deck(models, UNIT, VDD, mirrors), 20e-6)
    return [vectors[f"vc{k}#branch"][-1] / UNIT for k in range(len(mirrors))]


def test_nominal_sizing_widens_lengthens_then_stacks():
    sizing = Sizing(4e-6, 8e-6)
    assert sizing.mirror(0.5).width == pytest.approx(2e-6) and sizing.mirror(0.5).series == 1
    assert sizing.mirror(9.0).m == 3 and sizing.realized(sizing.mirror(9.0)) == pytest.approx(9.0)
    assert sizing.mirror(0.05).length == pytest.approx(20e-6)  # 0.5 um wide, 2.5 x longer
    stack = sizing.mirror(0.005)  # under 0.5 um / 50 um: 0.02
    assert stack.series == 4 and stack.length == pytest.approx(50e-6)
    assert sizing.realized(stack) == pytest.approx(0.005)
    assert sizing.mirror(0.0024) is None  # 8 x 50 um in series is the end
    block = Block("b", "dense", [])
    block.mos("n", "out", "gate", "gnd", gf180mcu(), stack)
    assert block.transistors == 4
    chain = [re.match(r"M\d+ (\S+) gate (\S+) gnd ", line).groups() for line in block.lines]
    assert chain[0][0] == "out" and chain[-1][1] == "gnd"
    assert all(a[1] == b[0] for a, b in itertools.pairwise(chain))


def test_measured_sizing_copies_the_requested_ratio(models):
    nominal = Sizing(models.width, models.length)
    measured = characterize(nominal, models, UNIT, VDD)
    assert characterize(nominal, models, UNIT, VDD) is measured  # cached
    assert {family for family, _, _ in measured.measured} == set(range(9))
    got_copies = copies(models, [measured.mirror(r) for r in RATIOS])
    for ratio, got in zip(RATIOS, got_copies, strict=True):
        assert got == pytest.approx(ratio, rel=0.005), ratio
        assert measured.realized(measured.mirror(ratio)) == pytest.approx(got, rel=0.005)
    # Sized by W / L alone, the small ratios come out strong: what the measurement fixes.
    plain = copies(models, [nominal.mirror(r) for r in RATIOS])
    assert plain[3] / RATIOS[3] > 1.08 and plain[4] / RATIOS[4] > 1.2
