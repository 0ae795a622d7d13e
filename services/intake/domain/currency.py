"""ISO 4217 currency codes and their minor-unit exponents, for validating money fields."""

from types import MappingProxyType

# List one as published for 2026-01-01, minus funds, bond-market units, precious metals and test
# codes: none of those can pay for a game card. ANG and BGN were withdrawn during 2025-2026 but
# stay accepted because orders paid before the switch are still complained about afterwards.
_ZERO = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF"
_THREE = "BHD IQD JOD KWD LYD OMR TND"
_TWO = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN "
    "BZD CAD CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS "
    "GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR "
    "LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD "
    "PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN "
    "SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VED VES WST XCD XCG YER ZAR "
    "ZMW ZWG"
)

MINOR_UNITS = MappingProxyType(
    {code: digits for digits, codes in ((0, _ZERO), (2, _TWO), (3, _THREE)) for code in codes.split()}
)
ISO4217 = frozenset(MINOR_UNITS)


def is_currency(*, code: str) -> bool:
    """Tell whether `code` is an accepted ISO 4217 alphabetic code (exact, upper case)."""
    return code in ISO4217


def minor_units(*, code: str) -> int:
    """Return how many decimal digits the minor unit of `code` has; KeyError when unknown."""
    return MINOR_UNITS[code]
