"""The sample's product master: product lines, their families of brands and packs,
and the fixed catalogue drawn from them (the same for every seed, like a real one)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

# --------------------------------------------------------------------------------------
# Products
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Family:
    """Products sharing an item: one per brand and pack.

    `base_price` is the KES shelf price of the reference pack (multiplier 1.0)
    at the end of the range; each pack is (label, price multiplier).
    """

    brands: tuple[str, ...]
    item: str
    base_price: float
    packs: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class ProductLine:
    """A product line with its margin band, demand shape and products.

    `mix` weighs the line in baskets of (Retail, Wholesale, Corporate, walk-in);
    `season` scales demand by month, January first; `qty_factor` scales units
    per line.
    """

    name: str
    code: str
    margin: tuple[float, float]
    mix: tuple[float, float, float, float]
    season: tuple[float, ...]
    qty_factor: float
    families: tuple[Family, ...]


FLAT_SEASON = (1.0,) * 12
BULK_MULTIPLIER = 8.0  # a pack priced 8x the reference or more is a carton, bale or crate
CATALOGUE_SEED = 20_240_101  # the catalogue is the same for every seed, like a real one
BRAND_PRICE_SPREAD = 0.08  # brands of one item differ by up to +-8% in price
POPULARITY_EXPONENT = 0.8  # Zipf-like: a line's best seller sells ~10x its tail products

PRODUCT_LINES: tuple[ProductLine, ...] = (
    ProductLine(
        "Beverages",
        "BEV",
        (0.15, 0.20),  # fast movers, thin-ish margin
        (20, 16, 8, 24),
        (1.05, 1.05, 1.05, 0.95, 0.9, 0.9, 0.9, 0.95, 1.0, 1.0, 1.05, 1.4),  # hot Q1, Dec parties
        1.2,  # bought by the crate
        (
            Family(
                ("Coca-Cola", "Fanta Orange", "Sprite", "Stoney Tangawizi", "Krest Bitter Lemon"),
                "",
                70,
                (("500ml", 1.0), ("1.25L", 1.85), ("2L", 2.8), ("500ml x24", 21.0)),
            ),
            Family(
                ("Dasani", "Keringet", "Aquamist"),
                "Water",
                50,
                (("500ml", 1.0), ("1L", 1.6), ("5L", 5.0), ("500ml x24", 19.0)),
            ),
            Family(
                ("Minute Maid", "Afia", "Del Monte", "Pick n Peel"),
                "Mango Juice",
                160,
                (("1L", 1.0), ("1L x12", 11.0)),
            ),
            Family(
                ("Kericho Gold", "Ketepa"),
                "Tea Leaves",
                150,
                (("100g", 0.45), ("250g", 1.0), ("500g", 1.9)),
            ),
        ),
    ),
    ProductLine(
        "Dairy",
        "DAI",
        (0.12, 0.16),  # perishable, competitive
        (14, 8, 4, 16),
        (*FLAT_SEASON[:11], 1.15),
        1.0,
        (
            Family(
                ("Brookside", "KCC", "Tuzo", "Daima", "Fresha"),
                "Fresh Milk",
                65,
                (("500ml", 1.0), ("1L", 1.9)),
            ),
            Family(
                ("Brookside", "KCC", "Tuzo"),
                "UHT Long Life Milk",
                75,
                (("500ml", 1.0), ("500ml x12", 11.0)),
            ),
            Family(
                ("Brookside", "Daima", "Bio"),
                "Yoghurt",
                160,
                (("250ml", 0.55), ("500ml", 1.0), ("1L", 1.9)),
            ),
            Family(("Brookside", "KCC"), "Butter", 330, (("250g", 1.0), ("500g", 1.9))),
            Family(("Brookside", "Daima"), "Mala", 70, (("500ml", 1.0), ("1L", 1.9))),
        ),
    ),
    ProductLine(
        "Flour & Grains",
        "FLR",
        (0.10, 0.14),  # staples: price-sensitive
        (15, 18, 4, 14),
        (1.0, 0.95, 1.0, 1.05, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.05, 1.25),
        1.2,  # bought by the bale
        (
            Family(
                ("Unga Pembe", "Jogoo", "Soko", "Jimbi", "Dola"),
                "Maize Flour",
                180,
                (("1kg", 0.52), ("2kg", 1.0), ("2kg x12 Bale", 11.5)),
            ),
            Family(
                ("Exe", "Ajab", "Pembe"),
                "Home Baking Flour",
                210,
                (("1kg", 0.52), ("2kg", 1.0), ("2kg x12 Bale", 11.5)),
            ),
            Family(
                ("Mwea Pishori", "Daawat Basmati", "Sunrice"),
                "Rice",
                380,
                (("1kg", 0.52), ("2kg", 1.0), ("5kg", 2.45), ("25kg", 11.8)),
            ),
            Family(
                ("Nuru", "Soko"),
                "Rosecoco Beans",
                190,
                (("1kg", 1.0), ("2kg", 1.95), ("50kg Bag", 46.0)),
            ),
        ),
    ),
    ProductLine(
        "Cooking Oil & Fats",
        "OIL",
        (0.10, 0.15),
        (11, 14, 3, 9),
        (1.0, 0.95, 1.0, 1.05, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.05, 1.25),
        0.8,
        (
            Family(
                ("Elianto", "Fresh Fri", "Golden Fry", "Rina", "Salit"),
                "Cooking Oil",
                330,
                (("500ml", 0.53), ("1L", 1.0), ("3L", 2.9), ("5L", 4.7), ("20L Jerrican", 18.0)),
            ),
            Family(
                ("Kimbo", "Kasuku", "Cowboy", "Chipsy"),
                "Cooking Fat",
                190,
                (("500g", 1.0), ("1kg", 1.9), ("2kg", 3.7), ("10kg", 17.5)),
            ),
            Family(
                ("Blue Band", "Prestige"),
                "Margarine",
                120,
                (("250g", 1.0), ("500g", 1.9)),
            ),
        ),
    ),
    ProductLine(
        "Household Cleaning",
        "HHC",
        (0.18, 0.25),
        (12, 10, 18, 10),
        (*FLAT_SEASON[:11], 1.1),
        1.0,
        (
            Family(
                ("Omo", "Ariel", "Toss", "Msafi"),
                "Washing Powder",
                180,
                (("500g", 1.0), ("1kg", 1.9), ("2kg", 3.7), ("5kg", 8.8)),
            ),
            Family(("Jik", "Hypo"), "Bleach", 170, (("750ml", 1.0), ("1.5L", 1.85), ("5L", 5.5))),
            Family(("Harpic", "Msafi"), "Toilet Cleaner", 280, (("500ml", 1.0), ("1L", 1.85))),
            Family(
                ("Sunlight", "Morning Fresh", "Axion"),
                "Dishwashing Liquid",
                250,
                (("400ml", 0.6), ("750ml", 1.0), ("5L", 5.2)),
            ),
            Family(
                ("White Star", "Menengai"),
                "Bar Soap",
                260,
                (("500g", 0.55), ("1kg", 1.0), ("1kg x20 Carton", 19.0)),
            ),
            Family(("Doom", "Baygon"), "Insecticide Spray", 450, (("300ml", 1.0),)),
        ),
    ),
    ProductLine(
        "Personal Care",
        "PCR",
        (0.25, 0.35),  # branded toiletries carry fat margins
        (13, 8, 8, 14),
        (*FLAT_SEASON[:11], 1.2),
        1.0,
        (
            Family(
                ("Colgate", "Close Up", "Aquafresh"),
                "Toothpaste",
                180,
                (("50ml", 0.55), ("100ml", 1.0), ("140ml", 1.35)),
            ),
            Family(
                ("Nivea", "Vaseline", "Nice & Lovely", "Zoe"),
                "Body Lotion",
                450,
                (("200ml", 0.55), ("400ml", 1.0), ("750ml", 1.7)),
            ),
            Family(
                ("Geisha", "Protex", "Dettol", "Lifebuoy"),
                "Bathing Soap",
                110,
                (("100g", 0.6), ("175g", 1.0), ("175g x3", 2.9)),
            ),
            Family(
                ("Vaseline", "Nice & Lovely"),
                "Petroleum Jelly",
                220,
                (("100ml", 0.5), ("250ml", 1.0), ("500ml", 1.9)),
            ),
            Family(
                ("Always", "Kotex", "Softcare"),
                "Sanitary Pads",
                120,
                (("8s", 1.0), ("16s", 1.9)),
            ),
            Family(
                ("Softcare", "Pampers", "Huggies"),
                "Diapers",
                950,
                (("Medium x30", 1.0), ("Large x28", 1.05)),
            ),
            Family(("Rexona", "Nivea"), "Roll-On", 280, (("50ml", 1.0),)),
        ),
    ),
    ProductLine(
        "Building Materials",
        "BLD",
        (0.08, 0.12),  # heavy, commoditised
        (5, 11, 10, 4),
        (1.15, 1.15, 1.1, 0.8, 0.75, 0.95, 1.05, 1.1, 1.1, 1.05, 0.9, 0.9),  # builds stop in rains
        2.0,  # cement goes by the dozen bags
        (
            Family(
                ("Bamburi", "Savannah", "Simba", "Mombasa", "Devki"),
                "Cement",
                780,
                (("25kg", 0.55), ("50kg", 1.0)),
            ),
            Family(
                ("Mabati Rolling Mills", "Devki", "Corrugated Sheets"),
                "Iron Sheet",
                950,
                (("30G 2m", 0.7), ("30G 3m", 1.0), ("28G 3m", 1.25)),
            ),
            Family(
                ("Devki", "Tononoka"),
                "Steel Bar",
                1150,
                (("Y10 12m", 0.7), ("Y12 12m", 1.0), ("Y16 12m", 1.8)),
            ),
            Family(
                ("Crown", "Basco", "Sadolin"),
                "Emulsion Paint",
                2100,
                (("1L", 0.3), ("4L", 1.0), ("20L", 4.6)),
            ),
            Family(
                ("Pipeline", "Kenpoly", "Polypipe"),
                "PVC Pipe",
                1800,
                (("1in 6m", 0.3), ("2in 6m", 0.55), ("4in 6m", 1.0)),
            ),
            Family(
                ("Tononoka",),
                "Roofing Nails",
                250,
                (("1kg", 1.0), ("25kg Carton", 23.0)),
            ),
            Family(
                ("Kentank", "Roto"),
                "Water Tank",
                14500,
                (("500L", 0.55), ("1000L", 1.0), ("5000L", 4.2)),
            ),
        ),
    ),
    ProductLine(
        "Electronics",
        "ELE",
        (0.10, 0.18),
        (3, 3, 8, 3),
        (0.8, 0.8, 0.9, 0.95, 0.9, 0.95, 0.95, 1.0, 1.0, 1.0, 1.15, 1.6),  # Christmas gifts
        0.1,  # one item at a time
        (
            Family(("Samsung Galaxy A15",), "", 22000, (("128GB", 1.0), ("256GB", 1.25))),
            Family(
                ("Tecno Spark 20", "Infinix Hot 40"), "", 15000, (("128GB", 1.0), ("256GB", 1.2))
            ),
            Family(("Itel A70",), "", 9000, (("64GB", 1.0), ("128GB", 1.15))),
            Family(
                ("Hisense", "TCL", "Vitron", "Samsung"),
                "Smart TV",
                32000,
                (("32in", 0.6), ("43in", 1.0), ("55in", 1.75)),
            ),
            Family(
                ("Ramtons", "Von Hotpoint", "Mika"),
                "Microwave",
                9500,
                (("20L", 1.0), ("25L", 1.25)),
            ),
            Family(("Ramtons", "Mika", "Sayona"), "Electric Kettle", 2400, (("1.7L", 1.0),)),
            Family(
                ("Ramtons", "Von Hotpoint", "Sayona"),
                "Blender",
                3500,
                (("1.5L", 1.0), ("2L", 1.2)),
            ),
            Family(
                ("Mika", "Ramtons"),
                "Fridge",
                38000,
                (("90L", 0.7), ("138L", 1.0), ("200L", 1.45)),
            ),
            Family(
                ("Sun King", "d.light", "Solarmax"),
                "Solar Home System",
                6500,
                (("Starter Kit", 1.0), ("TV Kit", 2.6)),
            ),
        ),
    ),
    ProductLine(
        "Stationery",
        "STA",
        (0.30, 0.40),  # small-ticket, high margin
        (7, 8, 28, 6),
        (3.0, 0.7, 0.8, 1.1, 2.0, 0.9, 0.8, 1.2, 2.0, 0.9, 0.7, 0.6),  # school terms: Jan, May, Sep
        1.5,  # schools buy by the dozen
        (
            Family(
                ("Kasuku", "Tausi", "Ryan"),
                "Exercise Book",
                45,
                (("48pg", 0.6), ("96pg", 1.0), ("200pg", 1.9), ("96pg x10", 9.5)),
            ),
            Family(
                ("Bic", "Pentel", "Kenpen"),
                "Ballpoint Pen",
                25,
                (("Blue", 1.0), ("Black", 1.0), ("Blue x50 Box", 45.0)),
            ),
            Family(
                ("Double A", "Typek", "PaperOne"),
                "A4 Printing Paper",
                650,
                (("Ream", 1.0), ("Box x5", 4.8)),
            ),
            Family(
                ("Staedtler", "Faber-Castell"),
                "Pencil HB",
                30,
                (("Single", 1.0), ("x12 Box", 11.0)),
            ),
            Family(
                ("Kasuku", "Tausi"),
                "Counter Book",
                180,
                (("2 Quire", 1.0), ("4 Quire", 1.7)),
            ),
            Family(
                ("Casio", "Citizen"),
                "Scientific Calculator",
                1800,
                (("fx-82", 1.0), ("fx-991", 1.6)),
            ),
            Family(("Pritt", "UHU"), "Glue Stick", 120, (("21g", 1.0), ("43g", 1.7))),
        ),
    ),
)


@dataclass(frozen=True)
class Catalogue:
    """The product master, one array entry per product."""

    ids: list[str]
    names: list[str]
    line: IntArray
    price_at_end: FloatArray
    margin: FloatArray
    popularity: FloatArray
    bulk: BoolArray

    @property
    def size(self) -> int:
        """How many products there are."""
        return len(self.ids)

    @property
    def first_of_line(self) -> IntArray:
        """Index of each product line's first product (products are stored line by line)."""
        return np.searchsorted(self.line, np.arange(len(PRODUCT_LINES))).astype(np.int64)


def round_shelf_price(price: float) -> float:
    """Round to how shelf prices look: whole shillings, 5s above 200, 50s above 2,000."""
    step = 1 if price < 200 else 5 if price < 2000 else 50  # coarser steps for dearer goods
    return float(max(step, round(price / step) * step))


def product_name(brand: str, item: str, pack: str) -> str:
    """A product's display name, e.g. "Unga Pembe Maize Flour 2kg"."""
    return " ".join(part for part in (brand, item, pack) if part)


@functools.cache
def product_catalogue() -> Catalogue:
    """The fixed product master (loops run over the few hundred catalogue entries only)."""
    rng = np.random.default_rng(CATALOGUE_SEED)
    ids: list[str] = []
    names: list[str] = []
    lines: list[int] = []
    prices: list[float] = []
    margins: list[float] = []
    popularity: list[float] = []
    bulk: list[bool] = []
    for line_index, line in enumerate(PRODUCT_LINES):
        first = len(ids)
        for family in line.families:
            for brand in family.brands:
                brand_factor = 1 + rng.uniform(-BRAND_PRICE_SPREAD, BRAND_PRICE_SPREAD)
                for pack, multiplier in family.packs:
                    ids.append(f"{line.code}-{len(ids) - first + 1:04d}")
                    names.append(product_name(brand, family.item, pack))
                    lines.append(line_index)
                    prices.append(round_shelf_price(family.base_price * multiplier * brand_factor))
                    margins.append(rng.uniform(*line.margin))
                    bulk.append(multiplier >= BULK_MULTIPLIER)
        ranks = rng.permutation(len(ids) - first)
        popularity.extend((1.0 / (1.0 + ranks) ** POPULARITY_EXPONENT).tolist())
    return Catalogue(
        ids=ids,
        names=names,
        line=np.array(lines, dtype=np.int64),
        price_at_end=np.array(prices),
        margin=np.array(margins),
        popularity=np.array(popularity),
        bulk=np.array(bulk),
    )
