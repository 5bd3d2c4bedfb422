"""DfE code lists the format tests check generated returns against, written out from the specifications
(``../shared/reference/input-formats.md``) rather than imported from the generator, so the tests stay independent."""

#: The 20 ethnicity codes of the CIN census (Ethnicity) and the SSDA903 (ETHNIC).
ETHNICITY_CODES = frozenset({
    "WBRI", "WIRI", "WIRT", "WOTH", "WROM", "MWBC", "MWBA", "MWAS", "MOTH", "AIND",
    "APKN", "ABAN", "AOTH", "BCRB", "BAFR", "BOTH", "CHNE", "OOTH", "REFU", "NOBT",
})
