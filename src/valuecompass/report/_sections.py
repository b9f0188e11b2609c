"""The default sections, in page order. See :mod:`valuecompass.report._section` to add one."""

from __future__ import annotations

from valuecompass.report._gap_section import GapSection
from valuecompass.report._sec_alignment import (
    HeatmapsSection,
    RankingsSection,
    RatesSection,
    TypesSection,
)
from valuecompass.report._sec_overview import OverviewSection
from valuecompass.report._sec_profile import ProfileSection, ProvenanceSection
from valuecompass.report._sec_reproduction import ReproductionSection
from valuecompass.report._sec_rigor import RigorSection
from valuecompass.report._sec_science import ScienceSection
from valuecompass.report._section import Section

DEFAULT_SECTIONS: tuple[Section, ...] = (
    OverviewSection(),
    RatesSection(),
    HeatmapsSection(),
    RankingsSection(),
    TypesSection(),
    ReproductionSection(),
    RigorSection(),
    ScienceSection(),
    GapSection(),
    ProfileSection(),
    ProvenanceSection(),
)
