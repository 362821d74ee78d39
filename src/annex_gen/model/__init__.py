"""The data model: the registry as loaded, a customer's contract, and the resolved annex.

Everything here is immutable. `Text` values hold one string per registry language; the
resolved `Annex` holds plain strings in the contract's language, so every renderer (JSON,
HTML/PDF, DOCX) reads the same words from one place.
"""

from annex_gen.model.annex import PROVENANCE, Annex, AnnexEntry, AnnexParty, AnnexSection
from annex_gen.model.contract import Contract, ContractTerms, Exclusion
from annex_gen.model.registry import (
    EEA_COUNTRIES,
    SECTION_KINDS,
    TRANSFER_KINDS,
    Entity,
    Entry,
    IdentifierKind,
    LegalId,
    Location,
    NoticeTerms,
    Option,
    Purpose,
    Region,
    Registry,
    Section,
    SourcedText,
    Text,
    TransferBasis,
)

__all__ = [
    "EEA_COUNTRIES", "PROVENANCE", "SECTION_KINDS", "Annex", "AnnexEntry", "AnnexParty", "AnnexSection", "Contract",
    "ContractTerms", "Entity", "Entry", "Exclusion", "IdentifierKind", "LegalId", "Location", "NoticeTerms", "Option",
    "Purpose", "Region", "Registry", "Section", "SourcedText", "Text", "TRANSFER_KINDS", "TransferBasis",
]
