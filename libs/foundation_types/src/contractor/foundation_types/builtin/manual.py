"""The ``manual`` foundation type: a person does the power switching."""

from __future__ import annotations

from typing import Final

from contractor.foundation_types.builtin.models import NoAttributes
from contractor.foundation_types.declaration import ComplexRule, FoundationType
from contractor.foundation_types.functions import MANUAL_FUNCTIONS


class ManualAttributes(NoAttributes):
    """Manual foundations have no attributes."""


MANUAL: Final = FoundationType(
    name="manual",
    display_name="Manual",
    prefix="manual_",
    class_list=("Metal", "VM", "Container", "Switch", "Manual"),
    attributes_model=ManualAttributes,
    complex=ComplexRule("optional", ("manual",)),
    functions=MANUAL_FUNCTIONS,
    description="Hardware handled by people: power functions pause the job for a person.",
)
