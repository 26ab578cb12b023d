"""The town-level address normaliser, built from the real postal data."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiban.registry.addresses.normalizer import AddressNormalizer, NormalizedAddress
from kiban.registry.addresses.text import (
    display_form,
    kanji_number,
    match_form,
    numeral_variants,
    parse_number,
)
from kiban.registry.postal import iter_records


@pytest.fixture(scope="module")
def normalizer() -> AddressNormalizer:
    return AddressNormalizer.from_records(iter_records())


def _parts(result: NormalizedAddress) -> tuple[object, ...]:
    return (result.pref, result.city, result.lg_code, result.town, result.rest, result.level)


# --- the examples of the specification ------------------------------------------------


def test_chome_town_without_the_word_chome(normalizer: AddressNormalizer) -> None:
    result = normalizer.normalize("東京都千代田区霞が関１－３－１")
    assert result == NormalizedAddress(
        input="東京都千代田区霞が関１－３－１",
        pref="東京都",
        city="千代田区",
        lg_code="131016",
        town="霞が関一丁目",
        rest="3-1",
        postal_code="1000013",
        level=3,
        score=1.0,
    )


def test_town_and_village_keep_their_county(normalizer: AddressNormalizer) -> None:
    result = normalizer.normalize("神奈川県高座郡寒川町宮山１３５")
    assert (result.city, result.lg_code, result.town, result.rest) == (
        "高座郡寒川町",
        "143219",
        "宮山",
        "135",
    )


def test_designated_city_ward(normalizer: AddressNormalizer) -> None:
    result = normalizer.normalize("大阪府大阪市北区梅田１丁目１番３号")
    assert _parts(result) == ("大阪府", "大阪市北区", "271276", "梅田一丁目", "1-3", 3)


# --- prefecture, municipality -----------------------------------------------------------


@pytest.mark.parametrize("address", ["寒川町宮山", "神奈川県寒川町宮山", "高座郡寒川町宮山"])
def test_omitted_prefecture_and_county(normalizer: AddressNormalizer, address: str) -> None:
    result = normalizer.normalize(address)
    assert (result.pref, result.city, result.town, result.level) == (
        "神奈川県",
        "高座郡寒川町",
        "宮山",
        3,
    )


def test_omitted_county_without_town(normalizer: AddressNormalizer) -> None:
    result = normalizer.normalize("神奈川県寒川町")
    assert (result.city, result.lg_code, result.town, result.level) == (
        "高座郡寒川町",
        "143219",
        None,
        2,
    )


@pytest.mark.parametrize(
    ("address", "prefecture", "lg_code"),
    [
        ("府中市府川町315", "広島県", "342084"),
        ("府中市宮西町2丁目24番地", "東京都", "132063"),
        ("伊達市末永町", "北海道", "012335"),
        ("伊達市雪車町", "福島県", "072133"),
    ],
)
def test_town_decides_an_ambiguous_city(
    normalizer: AddressNormalizer, address: str, prefecture: str, lg_code: str
) -> None:
    result = normalizer.normalize(address)
    assert (result.pref, result.lg_code, result.level) == (prefecture, lg_code, 3)


def test_ambiguous_city_without_town_is_less_certain(normalizer: AddressNormalizer) -> None:
    unique = normalizer.normalize("東京都府中市")
    ambiguous = normalizer.normalize("府中市")
    assert (ambiguous.level, unique.level) == (2, 2)
    assert ambiguous.score < unique.score


@pytest.mark.parametrize(
    ("address", "prefecture", "city"),
    [
        ("岩手花巻市１２丁目７０４", "岩手県", "花巻市"),
        ("千葉市川市八幡1丁目1番1号", "千葉県", "市川市"),
        ("京都市北区紫野東御所田町", "京都府", "京都市北区"),
        ("石川郡石川町字長久保185-4", "福島県", "石川郡石川町"),
    ],
)
def test_prefecture_written_short_or_omitted(
    normalizer: AddressNormalizer, address: str, prefecture: str, city: str
) -> None:
    result = normalizer.normalize(address)
    assert (result.pref, result.city, result.level) == (prefecture, city, 3)


def test_designated_city_without_ward(normalizer: AddressNormalizer) -> None:
    result = normalizer.normalize("大阪市梅田１丁目")
    assert (result.city, result.lg_code, result.town) == ("大阪市北区", "271276", "梅田一丁目")


def test_designated_city_without_ward_or_town(normalizer: AddressNormalizer) -> None:
    result = normalizer.normalize("大阪府大阪市")
    assert (result.city, result.lg_code, result.level) == ("大阪市", "271004", 2)


def test_levels(normalizer: AddressNormalizer) -> None:
    assert normalizer.normalize("東京都").level == 1
    assert normalizer.normalize("東京都千代田区").level == 2
    assert normalizer.normalize("東京都千代田区存在しない町").rest == "存在しない町"
    assert normalizer.normalize("東京都千代田区霞が関").town == "霞が関"


# --- character folding ----------------------------------------------------------------


def test_full_and_half_width(normalizer: AddressNormalizer) -> None:
    half = normalizer.normalize("東京都千代田区霞が関1-3-1")
    full = normalizer.normalize("東京都千代田区霞が関１－３－１")
    assert _parts(half) == _parts(full)


@pytest.mark.parametrize("dash", list("-‐‑‒–—―−－ｰー﹣─"))
def test_dash_look_alikes_between_digits(normalizer: AddressNormalizer, dash: str) -> None:
    result = normalizer.normalize(f"東京都千代田区霞が関1{dash}3{dash}1")
    assert (result.town, result.rest) == ("霞が関一丁目", "3-1")


def test_prolonged_sound_mark_in_a_katakana_town_is_kept(normalizer: AddressNormalizer) -> None:
    result = normalizer.normalize("広島市西区商工センター六丁目9番39号")
    assert (result.town, result.rest) == ("商工センター六丁目", "9-39")


def test_spaces_and_control_characters(normalizer: AddressNormalizer) -> None:
    result = normalizer.normalize("東京都\u3000千代田区 霞が関\t1丁目\u200b3-1")
    assert (result.town, result.rest) == ("霞が関一丁目", "3-1")


@pytest.mark.parametrize("counter", list("ヶケがガヵカ"))
def test_counter_ke_spellings(normalizer: AddressNormalizer, counter: str) -> None:
    assert normalizer.normalize(f"東京都千代田区霞{counter}関1-3-1").town == "霞が関一丁目"


@pytest.mark.parametrize("particle", list("之ノの"))
def test_no_spellings(normalizer: AddressNormalizer, particle: str) -> None:
    result = normalizer.normalize(f"兵庫県尼崎市武庫{particle}荘本町１丁目１３－３０")
    assert (result.town, result.rest) == ("武庫之荘本町一丁目", "13-30")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("﨑", "崎"),
        ("髙", "高"),
        ("濵", "浜"),
        ("邊", "辺"),
        ("邉", "辺"),
        ("澤", "沢"),
        ("齋", "斎"),
        ("齊", "斎"),
        ("櫻", "桜"),
        ("舊", "旧"),
        ("巿", "市"),
    ],
)
def test_old_character_forms_fold(old: str, new: str) -> None:
    assert match_form(display_form(old)) == match_form(display_form(new))


def test_old_character_form_in_an_address(normalizer: AddressNormalizer) -> None:
    assert normalizer.normalize("長崎県長崎市髙平町").town == "高平町"
    assert normalizer.normalize("千葉県巿川巿巿川1丁目").town == "市川一丁目"


def test_match_form_keeps_positions() -> None:
    display = display_form("京都府京都市中京区御池通烏丸東入ル霞ヶ関之髙")
    assert len(match_form(display)) == len(display)


def test_katakana_ka_in_a_loanword_is_not_a_counter() -> None:
    assert match_form("オカ山") == "オカ山"
    assert match_form("霞ガ関") == "霞ケ関"


# --- numerals and 番地 -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "value"),
    [
        ("二十三", 23),
        ("十", 10),
        ("百五", 105),
        ("千二百三十四", 1234),
        ("二〇三", 203),
        ("壱", 1),
        ("弐拾", 20),
        ("参", 3),
        ("42", 42),
        ("二二十", None),
        ("丁", None),
    ],
)
def test_parse_number(token: str, value: int | None) -> None:
    assert parse_number(token) == value


@given(st.integers(min_value=1, max_value=9999))
def test_kanji_numbers_read_back(value: int) -> None:
    assert parse_number(kanji_number(value)) == value


def test_numeral_variants() -> None:
    assert numeral_variants("北二十四条西") == ("北24条西", "北二十四条西")
    assert numeral_variants("14号") == ("14号", "十四号")
    assert numeral_variants("霞が関") is None


@pytest.mark.parametrize(
    ("address", "town", "rest"),
    [
        ("東京都板橋区赤塚２丁目４番１４号", "赤塚二丁目", "4-14"),
        ("兵庫県尼崎市瓦宮１丁目１８－１", "瓦宮一丁目", "18-1"),
        ("大阪府高槻市奈佐原３丁目１８－１", "奈佐原三丁目", "18-1"),
        ("奈良県奈良市東包永町２２番地の３", "東包永町", "22-3"),
        ("京都府京都市上京区主計町1の2", "主計町", "1-2"),
        ("京都府京都市上京区主計町一番一号", "主計町", "1-1"),
        ("東京都千代田区霞が関壱丁目参番壱号", "霞が関一丁目", "3-1"),
        ("東京都港区六本木六丁目二十三番地", "六本木六丁目", "23"),
        ("串本町串本千二百三十四", "串本", "1234"),
        ("沖縄県那覇市小禄１丁目５番２３号１丁目マンション３０１", "小禄一丁目", None),
    ],
)
def test_banchi_and_go(
    normalizer: AddressNormalizer, address: str, town: str, rest: str | None
) -> None:
    result = normalizer.normalize(address)
    assert result.town == town
    if rest is not None:
        assert result.rest == rest


def test_building_name_is_kept_after_the_banchi(normalizer: AddressNormalizer) -> None:
    result = normalizer.normalize("沖縄県那覇市小禄１丁目５番２３号１丁目マンション３０１")
    assert result.rest == "5-23 1丁目マンション301"


def test_numerals_inside_town_names(normalizer: AddressNormalizer) -> None:
    assert normalizer.normalize("北海道札幌市北区北２４条西６丁目１−１").town == (
        "北二十四条西六丁目"
    )
    assert normalizer.normalize("岩手県花巻市12丁目704").town == "十二丁目"
    assert normalizer.normalize("北海道上川郡東神楽町14号北1番地").town == "十四号"
    assert normalizer.normalize("兵庫県西宮市上ケ原九番町２番７０号").town == "上ケ原九番町"


def test_large_number_after_a_chome_town_is_a_banchi(normalizer: AddressNormalizer) -> None:
    result = normalizer.normalize("東京都日野市三沢４８－９")
    assert (result.town, result.rest) == ("三沢", "48-9")


@pytest.mark.parametrize("address", ["東京都江東区豊洲４－１１－２５", "東京都江東区豊洲4"])
def test_bare_chome(normalizer: AddressNormalizer, address: str) -> None:
    assert normalizer.normalize(address).town == "豊洲四丁目"


@pytest.mark.parametrize(
    ("address", "town"),
    [
        ("大阪府堺市堺区南花田口町２丁３－１０", "南花田口町二丁"),
        ("大阪府堺市堺区南花田口町2-3-10", "南花田口町二丁"),
        ("堺市北区新金岡町4丁1−8", "新金岡町四丁"),
    ],
)
def test_towns_divided_in_cho(normalizer: AddressNormalizer, address: str, town: str) -> None:
    assert normalizer.normalize(address).town == town


def test_postal_code_follows_the_chome(normalizer: AddressNormalizer) -> None:
    assert normalizer.normalize("北海道札幌市北区北十条西2丁目").postal_code == "0010010"
    assert normalizer.normalize("北海道札幌市北区北十条西7丁目").postal_code == "0600810"


# --- 大字, 字 and 小字 -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "town"),
    [
        ("埼玉県戸田市大字新曽２２４２", "大字新曽"),
        ("埼玉県戸田市新曽２２４２", "新曽"),
        ("福島県石川郡石川町字長久保185-4", "字長久保"),
        ("三重県三重郡菰野町大字大強原2796", "大字大強原"),
    ],
)
def test_oaza_and_aza_prefixes(normalizer: AddressNormalizer, address: str, town: str) -> None:
    result = normalizer.normalize(address)
    assert (result.town, result.level) == (town, 3)


def test_koaza_of_a_town_numbered_per_koaza(normalizer: AddressNormalizer) -> None:
    result = normalizer.normalize("愛知県名古屋市昭和区広路町字石坂５－４")
    assert (result.town, result.rest) == ("広路町字石坂", "5-4")


def test_no_koaza_where_banchi_are_numbered_per_town(normalizer: AddressNormalizer) -> None:
    result = normalizer.normalize("香川県仲多度郡まんのう町勝浦字家六２０９４番地１")
    assert (result.town, result.rest) == ("勝浦", "字家六2094番地1")


@pytest.mark.parametrize(
    ("address", "town"),
    [
        ("東京都新宿区三栄町２－８", "四谷三栄町"),
        ("東京都江戸川区西小松川12-345", "西小松川町"),
        ("石川県輪島市町野桶戸", "町野町桶戸"),
    ],
)
def test_town_with_a_part_left_out(normalizer: AddressNormalizer, address: str, town: str) -> None:
    assert normalizer.normalize(address).town == town


def test_stray_character_does_not_make_a_town(normalizer: AddressNormalizer) -> None:
    assert normalizer.normalize("石川県輪島市野町桶戸").level == 2
    assert normalizer.normalize("東京都荒川区屋５丁目").level == 2


# --- Kyoto street directions --------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "京都府京都市中京区御池通烏丸東入梅屋町361",
        "京都府京都市中京区御池通烏丸東入ル梅屋町361",
        "京都府京都市中京区梅屋町御池通烏丸東入361",
    ],
)
def test_kyoto_street_directions(normalizer: AddressNormalizer, address: str) -> None:
    result = normalizer.normalize(address)
    assert (result.city, result.lg_code, result.town, result.rest) == (
        "京都市中京区",
        "261041",
        "梅屋町",
        "361",
    )


def test_kyoto_street_direction_alone_names_the_town(normalizer: AddressNormalizer) -> None:
    named = normalizer.normalize("京都府京都市中京区梅屋町361")
    by_direction = normalizer.normalize("京都府京都市中京区御池通烏丸東入361")
    assert by_direction.town == "梅屋町"
    assert by_direction.score < named.score


def test_kyoto_streets_with_two_crossings(normalizer: AddressNormalizer) -> None:
    result = normalizer.normalize("京都府京都市下京区西中筋通北小路通上る丸屋町")
    assert (result.town, result.level) == ("丸屋町", 3)


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "junk",
    [
        "",
        " ",
        "\x00\x01\x1b[31m",
        "🙂🙂🙂",
        "Baker Street 221B",
        "None",
        "null",
        "あ" * 10_000,
        "東京都" * 4_000,
        "１" * 5_000,
        "㉑" * 999 + "丁目",
        "-" * 50,
        "丁目丁目番地号",
    ],
)
def test_junk_is_level_zero(normalizer: AddressNormalizer, junk: str) -> None:
    result = normalizer.normalize(junk)
    assert (result.level, result.town, result.score) == (0, None, 0.0)


def test_non_string_is_level_zero(normalizer: AddressNormalizer) -> None:
    assert normalizer.normalize(None).level == 0  # type: ignore[arg-type]


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_never_raises(normalizer: AddressNormalizer, text: str) -> None:
    result = normalizer.normalize(text)
    assert 0 <= result.level <= 3
    assert 0.0 <= result.score <= 1.0
    assert result.input == text


@settings(max_examples=300, deadline=None)
@given(
    prefix=st.sampled_from(["東京都千代田区", "大阪府大阪市北区", "京都府京都市中京区"]),
    text=st.text(),
)
def test_never_raises_after_a_real_city(
    normalizer: AddressNormalizer, prefix: str, text: str
) -> None:
    assert 2 <= normalizer.normalize(prefix + text).level <= 3


_TOWNS = [
    "東京都千代田区霞が関",
    "大阪府大阪市北区梅田",
    "神奈川県横浜市都筑区中川中央",
    "北海道札幌市北区北二十四条西",
    "兵庫県尼崎市武庫之荘本町",
    "埼玉県戸田市大字新曽",
]
_FULL_WIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")


@settings(max_examples=200, deadline=None)
@given(
    town=st.sampled_from(_TOWNS),
    numbers=st.lists(st.integers(min_value=1, max_value=999), min_size=1, max_size=3),
)
def test_width_and_spacing_do_not_change_the_result(
    normalizer: AddressNormalizer, town: str, numbers: list[int]
) -> None:
    address = town + "-".join(map(str, numbers))
    expected = _parts(normalizer.normalize(address))
    assert _parts(normalizer.normalize(address.translate(_FULL_WIDTH))) == expected
    assert _parts(normalizer.normalize(address.replace("都", "都 ", 1))) == expected


@settings(max_examples=200, deadline=None)
@given(
    town=st.sampled_from(_TOWNS),
    chome=st.integers(min_value=1, max_value=9),
    banchi=st.integers(min_value=1, max_value=99),
)
def test_normalised_address_normalises_to_itself(
    normalizer: AddressNormalizer, town: str, chome: int, banchi: int
) -> None:
    first = normalizer.normalize(f"{town}{chome}丁目{banchi}番")
    assert first.level == 3
    again = normalizer.normalize(f"{first.pref}{first.city}{first.town}{first.rest}")
    assert _parts(again) == _parts(first)
