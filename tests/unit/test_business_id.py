"""Finnish business IDs are checked without stdnum; the answer is stdnum's, every time."""

from __future__ import annotations

import random
import subprocess
import sys

from stdnum.eu import vat as eu_vat
from stdnum.fi import ytunnus

from annex_gen.inputs.contract import business_id_problem, finnish_check_digit_ok


def _samples() -> list[str]:
    rng = random.Random(29)
    bases = ["0000000", "0112038", "2984756", "1234567", "2718282", "9999999"]
    bases += [f"{rng.randrange(10**7):07d}" for _ in range(300)]
    return [base + str(digit) for base in bases for digit in range(10)]


def test_the_check_digit_agrees_with_stdnum():
    samples = _samples()
    valid = [s for s in samples if finnish_check_digit_ok(s)]
    assert 100 < len(valid) < len(samples)  # both answers occur
    for digits in samples:
        expected = ytunnus.is_valid(digits[:7] + "-" + digits[7])
        assert finnish_check_digit_ok(digits) is expected, digits
        assert eu_vat.is_valid("FI" + digits) is expected, digits


def test_business_id_problem_agrees_with_stdnum():
    for digits in _samples():
        ok = ytunnus.is_valid(digits)
        assert (business_id_problem(digits[:7] + "-" + digits[7]) is None) is ok
        assert (business_id_problem("FI" + digits) is None) is ok
    # Other countries still go through stdnum.
    assert business_id_problem("SE556703748501") is None
    assert business_id_problem("SE556703748502") is not None
    assert business_id_problem("FI1234567") is not None


def test_a_foreign_vat_number_does_not_load_stdnums_network_modules() -> None:
    # stdnum imports ssl and pydoc for what annex-gen never calls; they load when something uses them.
    probe = (
        "import sys\n"
        "from annex_gen.inputs.contract import business_id_problem\n"
        "assert business_id_problem('SE556703748501') is None\n"
        "assert business_id_problem('SE556703748502') is not None\n"
        "assert 'ssl' not in sys.modules and 'pydoc' not in sys.modules, 'loaded'\n"
        "import stdnum.util, ssl\n"
        "assert stdnum.util.ssl.Purpose is ssl.Purpose and 'ssl' in sys.modules\n"
        "assert stdnum.util.get_module_description(sys.modules['stdnum.se.vat'])\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
