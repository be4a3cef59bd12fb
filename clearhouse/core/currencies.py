"""ISO 4217 active currency codes and their minor-unit exponents.

The exponent is the number of decimal places of the minor unit (cents, fen):
2 for most currencies, 0 for JPY or KRW, 3 for KWD or BHD, 4 for the CLF
unit of account. Data from the ISO 4217 list one (current currencies).
"""

ZERO_DECIMALS = frozenset(
    """
    BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF
    """.split()
)
THREE_DECIMALS = frozenset(
    """
    BHD IQD JOD KWD LYD OMR TND
    """.split()
)
FOUR_DECIMALS = frozenset(
    """
    CLF UYW
    """.split()
)
TWO_DECIMALS = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV
    BRL BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK
    DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL
    HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL
    MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO
    NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK
    SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS
    UAH USD USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG
    """.split()
)

EXPONENTS: dict[str, int] = {
    **{code: 2 for code in TWO_DECIMALS},
    **{code: 0 for code in ZERO_DECIMALS},
    **{code: 3 for code in THREE_DECIMALS},
    **{code: 4 for code in FOUR_DECIMALS},
}
