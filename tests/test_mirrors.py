"""Mirror sizing against copy ratios measured in ngspice (real GF180MCU models)."""

import itertools
import re

import pytest

from exporters.blocks import WIDTHS, Sizing
from exporters.circuit import Block
from exporters.mirrors import characterize, measure_copies
from exporters.pdk import gf180mcu
from exporters.writers.transistor import element_line

UNIT, VDD = 7e-10, 0.9
RATIOS = (3.9, 1.0, 0.2, 0.05, 0.0118, 0.005)
NARROW = 0.5e-6  # min_width that reaches the smallest ratios


@pytest.fixture(scope="module")
def models():
    return gf180mcu()


def copies(models, mirrors, temperature=27.0):
    """What each of ``mirrors`` copies of the unit current, in ngspice."""
    return measure_copies(models, UNIT, VDD, mirrors, temperature)


def test_default_sizing_keeps_the_unit_width_below_one():
    sizing = Sizing(4e-6, 8e-6)
    assert sizing.mirror(2.0).width == pytest.approx(8e-6)
    half = sizing.mirror(0.5)
    assert half.width == pytest.approx(4e-6) and half.length == pytest.approx(16e-6)
    stack = sizing.mirror(0.05)  # 4 x 4 um / 40 um: 8 um / 160 um
    assert stack.series == 4 and stack.length == pytest.approx(40e-6)
    assert sizing.realized(sizing.mirror(0.021)) == pytest.approx(0.021, rel=1e-3)
    tiny = sizing.mirror(0.019)  # under 8 x 4 um / 50 um in series: narrow devices
    assert tiny.width == pytest.approx(0.5e-6) and tiny.series == 2  # 2 x 26 um
    assert sizing.mirror(0.0024) is None  # 8 x 0.5 um / 50 um in series is the end


def test_narrow_sizing_widens_lengthens_then_stacks():
    sizing = Sizing(4e-6, 8e-6, min_width=NARROW)
    assert sizing.mirror(0.5).width == pytest.approx(2e-6) and sizing.mirror(0.5).series == 1
    assert sizing.mirror(9.0).m == 3 and sizing.realized(sizing.mirror(9.0)) == pytest.approx(9.0)
    assert sizing.mirror(0.05).length == pytest.approx(20e-6)  # 0.5 um wide, 2.5 x longer
    stack = sizing.mirror(0.005)  # under 0.5 um / 50 um: 0.02
    assert stack.series == 4 and stack.length == pytest.approx(50e-6)
    assert sizing.realized(stack) == pytest.approx(0.005)
    assert sizing.mirror(0.0024) is None  # 8 x 50 um in series is the end
    block = Block("b", [])
    block.mos("n", "out", "gate", "gnd", (4e-6, 8e-6), stack)
    assert block.transistors == 4
    lines = [element_line(device, gf180mcu()) for device in block.elements]
    chain = [re.match(r"M\S* (\S+) gate (\S+) gnd ", line).groups() for line in lines]
    assert chain[0][0] == "out" and chain[-1][1] == "gnd"
    assert all(a[1] == b[0] for a, b in itertools.pairwise(chain))


def test_measured_sizing_copies_the_requested_ratio(models):
    nominal = Sizing(models.width, models.length)
    measured = characterize(nominal, models, UNIT, VDD)
    assert characterize(nominal, models, UNIT, VDD) is measured  # cached
    assert [family for family, _, _ in measured.measured] == [WIDTHS, *nominal.stacks()]
    got_copies = copies(models, [measured.mirror(r) for r in RATIOS])
    for ratio, got in zip(RATIOS, got_copies, strict=True):
        assert got == pytest.approx(ratio, rel=0.005), ratio
        assert measured.realized(measured.mirror(ratio)) == pytest.approx(got, rel=0.005)
    # Sized by W / L alone, the small ratios come out strong: what the measurement fixes.
    plain = copies(models, [nominal.mirror(r) for r in RATIOS])
    assert plain[3] / RATIOS[3] > 1.08 and plain[4] / RATIOS[4] > 1.2


def test_unit_width_copies_hold_their_ratio_in_the_cold(models):
    """Narrow copies drift against their 4 um diode with temperature; the
    default sizing's unit-width ones do not (the reason for the default)."""

    def drifts(sizing):
        mirrors = [sizing.mirror(r) for r in (0.5, 0.2, 0.05)]
        warm, cold = copies(models, mirrors), copies(models, mirrors, -40.0)
        return [abs(c / w - 1) for c, w in zip(cold, warm, strict=True)]

    assert max(drifts(Sizing(models.width, models.length))) < 0.04
    assert min(drifts(Sizing(models.width, models.length, min_width=NARROW))) > 0.06
