"""Semantic type and PII hints for one column, from its name, Arrow type, a sample and stats.

``hint(name, arrow_type, sample, stats, metadata=None) -> (semantic_type | None, pii)``

The name is split into lower-case tokens ("CustomerID" -> customer id, "Ad Topic Line" -> ad
topic line, "emp.var.rate" -> emp var rate). "Values match" means at least 90% of the non-null
sample values (as stripped text; integral floats as ints) match; an empty sample falls back
to ``stats["top_values"]``, and with no values at all only the rules marked *name alone* can
fire. Samples made only of yes/no/y/n/true/false/t/f/0/1 get no type after rule 4.
First rule that fires wins:

1. currency: field metadata ``{"parsed_from": "currency"}`` (set by the cleaner).
2. date: a date/timestamp Arrow type. PII when the name says date of birth (dob, birth_date,
   date_of_birth, birthdate, birthday).
3. bool columns: nothing.
4. id + PII: a hashed contact (email_hash, hashed_email, phone_sha256, ...) -- *name alone*.
5. email (PII), url, ip_address (PII; IPv4/IPv6 text): the values, whatever the name; email
   also by *name alone* (email, email_address, e_mail).
6. phone (PII): a phone-ish name (phone, mobile, tel, cell, msisdn, fax) and values of 7-15
   digits with + ( ) - . / spaces (*name alone* too), or, whatever the name, values that
   start with "+" followed by 7-15 digits (E.164).
7. postal_code (PII): a postal name (postcode, postal_code, zip, zip_code, ...) and values
   that are UK postcodes, US ZIP (+4) codes or generic 3-10 character codes with a digit;
   zips read as ints of 3-5 digits count too (leading zeros lost). *Name alone* too.
8. country: a country-ish name (country, ctry, cntry, nation, country_code, iso2/iso3) and
   ISO-3166 alpha-2/alpha-3 codes or English names as values (``COUNTRY_NAMES``: case, accents,
   punctuation, "(...)" and ", Republic of" ignored); under other names only full country
   names count (codes like "no" are too ambiguous), >= 2 distinct. So yes/no is never a
   country and Palau/Hungary is one.
9. currency: a currency-ish name (currency, ccy, currency_code) with ISO 4217 codes, or
   values that are money amounts with a currency sign or code ("$1,200.50", "12 EUR").
10. date: values that are dates or date-times as text (2016-02-12, 2/12/2016 22:51,
    31-08-2023, 12/1/10 8:26), PII under a birth-date name.
11. person_name (PII): first/last/full/given/family/middle name, surname, or <person word>
    name (customer, contact, client, user, member, employee, recipient, ...), with values
    of 1-6 words of letters (*name alone* too). A bare "name" is not enough.
12. address (PII): address, street, address_line_1, billing/shipping address, ... with
    values holding a letter (*name alone* too); e-mail/IP/web/MAC addresses excluded.
13. id: a name ending in id, key, uuid, guid, code, identifier, no, number, num, nr, ref,
    sku, or a single token like userid/customerid, on an int or string column whose values have
    no whitespace; or UUID values whatever the name; or string values that look like codes
    (no spaces, a digit, >= 6 characters) when stats say every non-null value is distinct
    (>= 20 values). PII when the name names a person (customer, user, client, member,
    visitor, subscriber, contact, patient, employee, guest, player, lead, buyer, shopper,
    household, cookie, device, login, username, passport, ssn, national, tax, ...).
    username/user_name/login/handle: id + PII.
14. birth year/date of birth under any other type: (None, PII).

City, region, gender and age are not flagged. Columns are never PII unless a rule says so.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any

import pyarrow as pa

THRESHOLD = 0.9

# ISO-3166: alpha-2 alpha-3 English name[/alias...]; a few common non-ISO names at the end
_COUNTRY_TABLE = """\
AD AND Andorra;AE ARE United Arab Emirates/UAE;AF AFG Afghanistan;AG ATG Antigua and Barbuda
AI AIA Anguilla;AL ALB Albania;AM ARM Armenia;AO AGO Angola;AQ ATA Antarctica;AR ARG Argentina
AS ASM American Samoa/Samoa American;AT AUT Austria;AU AUS Australia;AW ABW Aruba
AX ALA Aland Islands;AZ AZE Azerbaijan;BA BIH Bosnia and Herzegovina/Bosnia;BB BRB Barbados
BD BGD Bangladesh;BE BEL Belgium;BF BFA Burkina Faso;BG BGR Bulgaria;BH BHR Bahrain;BI BDI Burundi
BJ BEN Benin;BL BLM Saint Barthelemy;BM BMU Bermuda;BN BRN Brunei/Brunei Darussalam;BO BOL Bolivia
BQ BES Bonaire/Caribbean Netherlands;BR BRA Brazil;BS BHS Bahamas;BT BTN Bhutan
BV BVT Bouvet Island;BW BWA Botswana;BY BLR Belarus;BZ BLZ Belize;CA CAN Canada
CC CCK Cocos Islands;CF CAF Central African Republic
CD COD Democratic Republic of the Congo/DR Congo/Congo Kinshasa;CG COG Congo/Republic of the Congo
CH CHE Switzerland;CI CIV Cote d Ivoire/Ivory Coast;CK COK Cook Islands;CL CHL Chile
CM CMR Cameroon;CN CHN China;CO COL Colombia;CR CRI Costa Rica;CU CUB Cuba
CV CPV Cape Verde/Cabo Verde;CW CUW Curacao;CX CXR Christmas Island;CY CYP Cyprus
CZ CZE Czechia/Czech Republic;DE DEU Germany;DJ DJI Djibouti;DK DNK Denmark;DM DMA Dominica
DO DOM Dominican Republic;DZ DZA Algeria;EC ECU Ecuador;EE EST Estonia;EG EGY Egypt
EH ESH Western Sahara;ER ERI Eritrea;ES ESP Spain;ET ETH Ethiopia;FI FIN Finland;FJ FJI Fiji
FK FLK Falkland Islands;FM FSM Micronesia;FO FRO Faroe Islands;FR FRA France;GA GAB Gabon
GB GBR United Kingdom/UK/Great Britain/Britain/England/Scotland/Wales/Northern Ireland
GD GRD Grenada;GE GEO Georgia;GF GUF French Guiana;GG GGY Guernsey;GH GHA Ghana;GI GIB Gibraltar
GL GRL Greenland;GM GMB Gambia;GN GIN Guinea;GP GLP Guadeloupe;GQ GNQ Equatorial Guinea
GR GRC Greece;GS SGS South Georgia and the South Sandwich Islands;GT GTM Guatemala;GU GUM Guam
GW GNB Guinea Bissau;GY GUY Guyana;HK HKG Hong Kong;HM HMD Heard Island and McDonald Islands
HN HND Honduras;HR HRV Croatia;HT HTI Haiti;HU HUN Hungary;ID IDN Indonesia;IE IRL Ireland/Eire
IL ISR Israel;IM IMN Isle of Man;IN IND India;IO IOT British Indian Ocean Territory;IQ IRQ Iraq
IR IRN Iran;IS ISL Iceland;IT ITA Italy;JE JEY Jersey;JM JAM Jamaica;JO JOR Jordan;JP JPN Japan
KE KEN Kenya;KG KGZ Kyrgyzstan/Kyrgyz Republic;KH KHM Cambodia;KI KIR Kiribati;KM COM Comoros
KN KNA Saint Kitts and Nevis;KP PRK North Korea/Korea North;KW KWT Kuwait
KR KOR South Korea/Korea/Republic of Korea/Korea South;KY CYM Cayman Islands;KZ KAZ Kazakhstan
LA LAO Laos/Lao People s Democratic Republic;LB LBN Lebanon;LC LCA Saint Lucia;LI LIE Liechtenstein
LK LKA Sri Lanka;LR LBR Liberia;LS LSO Lesotho;LT LTU Lithuania;LU LUX Luxembourg;LV LVA Latvia
LY LBY Libya/Libyan Arab Jamahiriya;MA MAR Morocco;MC MCO Monaco;MD MDA Moldova;ME MNE Montenegro
MF MAF Saint Martin;MG MDG Madagascar;MH MHL Marshall Islands;MK MKD North Macedonia/Macedonia
ML MLI Mali;MM MMR Myanmar/Burma;MN MNG Mongolia;MO MAC Macao/Macau;MP MNP Northern Mariana Islands
MQ MTQ Martinique;MR MRT Mauritania;MS MSR Montserrat;MT MLT Malta;MU MUS Mauritius;MV MDV Maldives
MW MWI Malawi;MX MEX Mexico;MY MYS Malaysia;MZ MOZ Mozambique;NA NAM Namibia;NC NCL New Caledonia
NE NER Niger;NF NFK Norfolk Island;NG NGA Nigeria;NI NIC Nicaragua
NL NLD Netherlands/Holland/The Netherlands;NO NOR Norway;NP NPL Nepal;NR NRU Nauru;NU NIU Niue
NZ NZL New Zealand;OM OMN Oman;PA PAN Panama;PE PER Peru;PF PYF French Polynesia
PG PNG Papua New Guinea;PH PHL Philippines;PK PAK Pakistan;PL POL Poland
PM SPM Saint Pierre and Miquelon;PN PCN Pitcairn/Pitcairn Islands;PR PRI Puerto Rico
PS PSE Palestine/Palestinian Territory/Palestinian Territories;PT PRT Portugal;PW PLW Palau
PY PRY Paraguay;QA QAT Qatar;RE REU Reunion;RO ROU Romania;RS SRB Serbia
RU RUS Russia/Russian Federation;RW RWA Rwanda;SA SAU Saudi Arabia;SB SLB Solomon Islands
SC SYC Seychelles;SD SDN Sudan;SE SWE Sweden;SG SGP Singapore;SH SHN Saint Helena;SI SVN Slovenia
SJ SJM Svalbard and Jan Mayen/Svalbard and Jan Mayen Islands;SK SVK Slovakia/Slovak Republic
SL SLE Sierra Leone;SM SMR San Marino;SN SEN Senegal;SO SOM Somalia;SR SUR Suriname
SS SSD South Sudan;ST STP Sao Tome and Principe;SV SLV El Salvador;SX SXM Sint Maarten
SY SYR Syria/Syrian Arab Republic;SZ SWZ Eswatini/Swaziland;TC TCA Turks and Caicos Islands
TD TCD Chad;TF ATF French Southern Territories;TG TGO Togo;TH THA Thailand;TJ TJK Tajikistan
TK TKL Tokelau;TL TLS Timor Leste/East Timor;TM TKM Turkmenistan;TN TUN Tunisia;TO TON Tonga
TR TUR Turkey/Turkiye;TT TTO Trinidad and Tobago;TV TUV Tuvalu;TW TWN Taiwan;TZ TZA Tanzania
UA UKR Ukraine;UG UGA Uganda;UM UMI United States Minor Outlying Islands
US USA United States/United States of America/America;UY URY Uruguay;UZ UZB Uzbekistan
VA VAT Holy See/Vatican/Vatican City/Vatican City State;VC VCT Saint Vincent and the Grenadines
VE VEN Venezuela;VG VGB British Virgin Islands/Virgin Islands British
VI VIR United States Virgin Islands/US Virgin Islands/Virgin Islands US;VN VNM Vietnam/Viet Nam
VU VUT Vanuatu;WF WLF Wallis and Futuna;WS WSM Samoa;YE YEM Yemen;YT MYT Mayotte
ZA ZAF South Africa/RSA;ZM ZMB Zambia;ZW ZWE Zimbabwe;XK XKX Kosovo;AN ANT Netherlands Antilles
__ ___ Channel Islands/European Union"""

_CURRENCIES = """USD EUR GBP JPY CHF CAD AUD NZD CNY HKD SGD SEK NOK DKK ISK PLN CZK
HUF RON BGN TRY RUB UAH INR IDR MYR THB PHP VND KRW TWD PKR BDT BRL MXN ARS CLP COP PEN ZAR
NGN KES EGP MAD AED SAR QAR KWD BHD OMR ILS"""
CURRENCY_CODES = frozenset(_CURRENCIES.split())


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"\(.*?\)", " ", text.replace("&", " and ").replace(".", ""))
    words = re.sub(r"[^a-z0-9]+", " ", text).split()
    words = ["saint" if w == "st" else w for w in words]
    while words and words[0] == "the":
        words.pop(0)
    while words and words[-1] == "the":
        words.pop()
    return " ".join(words)


def _load_countries() -> tuple[frozenset[str], frozenset[str]]:
    codes: set[str] = set()
    names: set[str] = set()
    for entry in _COUNTRY_TABLE.replace("\n", ";").split(";"):
        alpha2, alpha3, rest = entry.split(" ", 2)
        codes.update(c.lower() for c in (alpha2, alpha3) if c.isalpha())
        names.update(_norm(n) for n in rest.split("/"))
    return frozenset(codes), frozenset(names)


COUNTRY_CODES, COUNTRY_NAMES = _load_countries()

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_URL = re.compile(r"^(?:(?:https?|ftp)://|www\.)[^\s/$.?#][^\s]*$", re.IGNORECASE)
_PHONE = re.compile(r"^\+?[\d\s().\-/]{7,24}$")
_E164 = re.compile(r"^\+\d[\d\s().\-/]{6,22}$")
_UK_POSTCODE = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]?\s*(?:\d[A-Z]{2})?$", re.IGNORECASE)
_US_ZIP = re.compile(r"^\d{5}(?:-\d{4})?$")
_GENERIC_POSTCODE = re.compile(r"^(?=.*\d)[A-Z\d][A-Z\d \-]{1,8}[A-Z\d]$", re.IGNORECASE)
_UUID = re.compile(r"^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$", re.I)
_CODE = re.compile(r"^(?=.*\d)[A-Za-z0-9][A-Za-z0-9_\-:./#]{5,}$")
_MONEY = re.compile(r"^(?:[$€£¥₹]|(?P<code>[A-Z]{3}))\s?-?\d[\d,.\s]*$"
                    r"|^-?\d[\d,.\s]*\s?(?:[$€£¥₹]|(?P<code2>[A-Z]{3}))$")
_ISO_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
                       r"(?:Z|[+-]\d{2}:?\d{2})?)?$")
_DMY_DATE = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})"
                       r"(?:[ T]\d{1,2}:\d{2}(?::\d{2})?(?:\s?[AaPp][Mm])?)?$")
_PERSON_NAME = re.compile(r"^[^\W\d_]+(?:[ '\-.,]+[^\W\d_]+){0,5}\.?$")
_TOKENS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")

_BIRTH = {"dob", "birth_date", "date_of_birth", "birthdate", "birthday", "dateofbirth",
          "birth_dt", "date_birth", "birth_year", "year_of_birth", "yob"}
_HASHES = {"hash", "hashed", "md5", "sha1", "sha256", "sha", "hem"}
_CONTACT = {"email", "mail", "phone", "mobile", "msisdn"}
_EMAIL_NAMES = {"email", "email_address", "e_mail", "emailaddress", "mail"}
_PHONE_WORDS = {"phone", "mobile", "tel", "telephone", "cell", "cellphone", "msisdn", "fax",
                "phonenumber", "mobilephone"}
_POSTAL = {"postcode", "postal_code", "postalcode", "zip", "zip_code", "zipcode", "post_code",
           "postal", "zip5", "zip_plus4", "postcode_area"}
_COUNTRY_WORDS = {"country", "ctry", "cntry", "nation", "countrycode", "iso2", "iso3"}
_CURRENCY_WORDS = {"currency", "ccy", "curr", "currencycode"}
_PERSON_NAMES = {"first_name", "last_name", "full_name", "given_name", "family_name",
                 "middle_name", "surname", "firstname", "lastname", "fullname", "fname",
                 "lname", "forename", "maiden_name", "givenname", "familyname"}
_PERSON = {"customer", "cust", "contact", "client", "user", "person", "member", "employee",
           "recipient", "subscriber", "buyer", "sender", "holder", "cardholder", "patient",
           "guest", "passenger", "player", "lead", "applicant", "student", "respondent",
           "participant", "owner", "visitor", "shopper", "consumer", "donor", "prospect"}
_PERSON_IDS = _PERSON | {"profile", "household", "cookie", "device", "idfa", "gaid", "maid",
                         "login", "username", "passport", "ssn", "national", "tax", "nino"}
_ADDRESS_SKIP = {"email", "ip", "web", "mac", "url", "wallet", "mail", "server", "host"}
_ADDRESS = {"address", "addr", "street", "street_address", "address_line", "address1",
            "address2", "streetaddress"}
_ID_SUFFIX = {"id", "key", "uuid", "guid", "code", "identifier", "no", "number", "num", "nr",
              "ref", "sku"}
_BOOLEAN_WORDS = {"yes", "no", "y", "n", "true", "false", "t", "f", "0", "1"}


def tokens(name: str) -> list[str]:
    """Lower-case words of a column name: snake, kebab, dotted, spaced and camelCase."""
    return [t.lower() for part in re.split(r"[^A-Za-z0-9]+", name) for t in _TOKENS.findall(part)]


def _text(value: object) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if value != value:  # NaN
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value).strip()
    return text or None


def _share(values: list[str], test: Callable[[str], bool]) -> bool:
    return bool(values) and sum(1 for v in values if test(v)) >= THRESHOLD * len(values)


def _is_ip(value: str) -> bool:
    if "." not in value and ":" not in value:
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _is_date_text(value: str) -> bool:
    if _ISO_DATE.match(value):
        return True
    m = _DMY_DATE.match(value)
    if m is None:
        return False
    a, b = int(m.group(1)), int(m.group(2))
    return 1 <= a <= 31 and 1 <= b <= 31 and min(a, b) <= 12


def _is_postal(value: str, integer: bool) -> bool:
    if integer:
        return value.isdigit() and 3 <= len(value) <= 5
    return bool(_UK_POSTCODE.match(value) or _US_ZIP.match(value)
                or _GENERIC_POSTCODE.match(value))


def _any(words: Iterable[str], vocabulary: set[str]) -> bool:
    return any(w in vocabulary for w in words)


def _looks_id(words: list[str], key: str) -> bool:
    if words and words[-1] in _ID_SUFFIX:
        return True
    squashed = key.replace("_", "")
    return len(words) == 1 and squashed.endswith("id") and squashed[:-2] in _PERSON_IDS | {
        "session", "order", "product", "campaign", "item", "invoice", "transaction", "account"}


def is_country_name(value: str) -> bool:
    """An English country name ("Korea, Republic of" counts as "Korea")."""
    return _norm(value) in COUNTRY_NAMES or ("," in value
                                            and _norm(value.split(",")[0]) in COUNTRY_NAMES)


def _is_money(value: str) -> bool:
    m = _MONEY.match(value)
    return m is not None and (m.group("code") or m.group("code2") or "") in CURRENCY_CODES | {""}


def _is_phone(value: str, *, e164: bool = False) -> bool:
    shaped = (_E164 if e164 else _PHONE).match(value)
    return shaped is not None and 7 <= sum(c.isdigit() for c in value) <= 15


def hint(name: str, arrow_type: pa.DataType, sample: Sequence[object], stats: dict[str, Any],
         metadata: dict[str, str] | None = None) -> tuple[str | None, bool]:
    """(semantic type or None, PII) for one column; the rules are in the module docstring.

    ``sample``: non-null values of the column, ideally distinct (``Profiler.samples()``);
    when empty, the values of ``stats["top_values"]`` are used. ``stats``: the column's
    profile (``count``, ``null_count``, ``distinct_count``, ``distinct_approximate``).
    """
    words = tokens(name)
    key = "_".join(words)
    squashed = key.replace("_", "")
    birth = key in _BIRTH or squashed in _BIRTH or ("birth" in words and "date" in words)
    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    if (metadata or {}).get("parsed_from") == "currency":
        return "currency", False
    if pa.types.is_date(arrow_type) or pa.types.is_timestamp(arrow_type):
        return "date", birth
    if pa.types.is_boolean(arrow_type):
        return None, False
    if _any(words, _HASHES) and _any(words, _CONTACT):
        return "id", True
    is_int = pa.types.is_integer(arrow_type)
    is_str = (pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)
              or pa.types.is_string_view(arrow_type))
    if not sample:
        sample = [t.get("value") for t in stats.get("top_values") or [] if isinstance(t, dict)]
    values = [t for t in map(_text, sample) if t is not None] if is_str or is_int else []
    if values and {v.lower() for v in values} <= _BOOLEAN_WORDS:
        return None, birth
    if is_str:
        if _share(values, lambda v: bool(_EMAIL.match(v))) or (not values
                                                                and key in _EMAIL_NAMES):
            return "email", True
        if _share(values, lambda v: bool(_URL.match(v))):
            return "url", False
        if _share(values, _is_ip):
            return "ip_address", True
    phone_name = _any(words, _PHONE_WORDS) or squashed in _PHONE_WORDS
    if phone_name and (is_str or is_int) and (not values or _share(values, _is_phone)):
        return "phone", True
    if is_str and _share(values, lambda v: _is_phone(v, e164=True)):
        return "phone", True
    if (key in _POSTAL or squashed in _POSTAL) and (is_str or is_int) and (
            not values or _share(values, lambda v: _is_postal(v, is_int))):
        return "postal_code", True
    if is_str and values:
        if (_any(words, _COUNTRY_WORDS) or squashed in _COUNTRY_WORDS) and _share(
                values, lambda v: v.lower() in COUNTRY_CODES or is_country_name(v)):
            return "country", False
        if len(set(values)) >= 2 and _share(values, lambda v: len(v) > 3 and is_country_name(v)):
            return "country", False
        currency_name = _any(words, _CURRENCY_WORDS) or squashed in _CURRENCY_WORDS
        if (currency_name and _share(values, lambda v: v.upper() in CURRENCY_CODES)) or (
                _share(values, _is_money)):
            return "currency", False
        if _share(values, _is_date_text):
            return "date", birth
    if key in {"username", "user_name", "login", "handle"} and (is_str or is_int):
        return "id", True
    person = key in _PERSON_NAMES or squashed in _PERSON_NAMES or (
        len(words) >= 2 and words[-1] == "name" and words[-2] in _PERSON)
    if is_str and person and (not values or _share(
            values, lambda v: len(v) <= 100 and bool(_PERSON_NAME.match(v)))):
        return "person_name", True
    address = (key in _ADDRESS or squashed in _ADDRESS or _any(words, {"address", "street"})
               ) and not _any(words, _ADDRESS_SKIP)
    if is_str and address and (not values or _share(
            values, lambda v: len(v) >= 3 and any(c.isalpha() for c in v))):
        return "address", True
    if (is_int or is_str) and not birth:
        pii = _any(words, _PERSON_IDS) or (squashed.endswith("id")
                                           and squashed[:-2] in _PERSON_IDS)
        if _looks_id(words, key) and (is_int or not values
                                      or _share(values, lambda v: " " not in v)):
            return "id", pii
        if is_str and _share(values, lambda v: bool(_UUID.match(v))):
            return "id", pii
        if is_str and _unique(stats) and _share(values, lambda v: bool(_CODE.match(v))):
            return "id", pii
    return None, birth


def _unique(stats: dict[str, Any]) -> bool:
    present = int(stats.get("count") or 0) - int(stats.get("null_count") or 0)
    distinct = stats.get("distinct_count")
    if present < 20 or not isinstance(distinct, int):
        return False
    slack = 0.03 if stats.get("distinct_approximate") else 0.0
    return distinct >= present * (1 - slack)
