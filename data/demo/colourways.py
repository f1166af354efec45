#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""data/demo/colourways.py - the demo catalog's colourways (data/demo/README.md).

Run once at development time (`python3 data/demo/colourways.py`, from the
repository root); its output is committed and `make run` only imports it.

A colourway is a group of catalog.csv products whose Descriptions are the
same once one colour word is taken out at the same place ("GREEN REGENCY
TEACUP AND SAUCER", "PINK REGENCY TEACUP AND SAUCER"). Each group becomes
one product of type `colourway` with a variant per member:

  product-types.jsonl          the type `colourway`: enum attribute `colour`
                               (variant-level, filterable), option `colour`
  products-colourways.jsonl    one product per group: sku <first member
                               StockCode>-V, the description without the
                               colour word, the members' most common category,
                               the lowest member price, the members' stock
  variants.jsonl               one variant per member: its StockCode, its
                               colour, its own GBP price, its Lines as stock
  colourway-members.csv        the members as drafts (sku,status): each colour
                               is sold once, as a variant of its colourway
  prices-eu-colourways.csv     the colourways' EUR list price: the lowest of
                               their members' in prices-eu.csv

Rules (deterministic; the same input gives the same files):
  - a colour word is one of COLOURS below, a whole word of the Description;
  - a colour joined to another word by AND or & ("RED AND CREAM") is part of
    a two-colour pattern and does not make a group;
  - a group needs at least two different colours; a product with two colour
    words joins the larger of its possible groups (ties: the template's
    sort order), and groups are settled largest first;
  - two members of one colour (StockCodes differing only in case, or a
    re-numbered item): the one with more invoice Lines is the variant (ties:
    the lower StockCode), the other stays a product of its own (one
    colourway per title);
  - a product priced 0 joins no group.
"""
import collections
import csv
import decimal
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# word in the Descriptions -> (option code, English, German, French)
COLOURS = {
    "RED": ("red", "Red", "Rot", "Rouge"),
    "PINK": ("pink", "Pink", "Rosa", "Rose"),
    "BLUE": ("blue", "Blue", "Blau", "Bleu"),
    "GREEN": ("green", "Green", "Grün", "Vert"),
    "WHITE": ("white", "White", "Weiß", "Blanc"),
    "BLACK": ("black", "Black", "Schwarz", "Noir"),
    "IVORY": ("ivory", "Ivory", "Elfenbein", "Ivoire"),
    "CREAM": ("cream", "Cream", "Creme", "Crème"),
    "YELLOW": ("yellow", "Yellow", "Gelb", "Jaune"),
    "ORANGE": ("orange", "Orange", "Orange", "Orange"),
    "PURPLE": ("purple", "Purple", "Lila", "Violet"),
    "LILAC": ("lilac", "Lilac", "Flieder", "Lilas"),
    "LAVENDER": ("lavender", "Lavender", "Lavendel", "Lavande"),
    "TURQUOISE": ("turquoise", "Turquoise", "Türkis", "Turquoise"),
    "AQUA": ("aqua", "Aqua", "Aquablau", "Bleu aqua"),
    "MINT": ("mint", "Mint", "Mintgrün", "Vert menthe"),
    "LIME": ("lime", "Lime", "Limettengrün", "Vert citron"),
    "PEACH": ("peach", "Peach", "Pfirsich", "Pêche"),
    "FUSCHIA": ("fuchsia", "Fuchsia", "Fuchsia", "Fuchsia"),
    "BROWN": ("brown", "Brown", "Braun", "Marron"),
    "CHOCOLATE": ("chocolate", "Chocolate", "Schokobraun", "Chocolat"),
    "NATURAL": ("natural", "Natural", "Natur", "Naturel"),
    "GREY": ("grey", "Grey", "Grau", "Gris"),
    "GOLD": ("gold", "Gold", "Gold", "Or"),
    "SILVER": ("silver", "Silver", "Silber", "Argent"),
    "BRONZE": ("bronze", "Bronze", "Bronze", "Bronze"),
    "COPPER": ("copper", "Copper", "Kupfer", "Cuivre"),
    "ZINC": ("zinc", "Zinc", "Zink", "Zinc"),
    "AMBER": ("amber", "Amber", "Bernstein", "Ambre"),
    "AMETHYST": ("amethyst", "Amethyst", "Amethyst", "Améthyste"),
    "CRYSTAL": ("crystal", "Crystal", "Kristall", "Cristal"),
    "CLEAR": ("clear", "Clear", "Transparent", "Transparent"),
    "JADE": ("jade", "Jade", "Jade", "Jade"),
    "RUBY": ("ruby", "Ruby", "Rubinrot", "Rubis"),
    "OLIVE": ("olive", "Olive", "Oliv", "Olive"),
    "MULTICOLOUR": ("multicolour", "Multicolour", "Mehrfarbig", "Multicolore"),
}
JOINERS = {"AND", "&"}
SUFFIX = "-V"


def pence(s):
    """GBP text to integer pence, exactly (decimal arithmetic, no floats)."""
    p = decimal.Decimal(s.strip()) * 100
    if p != p.to_integral_value():
        raise ValueError("finer than a penny: " + s)
    return int(p)


def title_of(tokens, i):
    """The Description without its colour word at i, tidied."""
    rest = tokens[:i] + tokens[i + 1:]
    if i < len(rest) and rest[i] == "COLOUR":  # "BROOCH RED COLOUR"
        del rest[i]
    t = " ".join(rest).strip(" ,")
    return t


def main():
    with open(os.path.join(HERE, "catalog.csv"), newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    eur = {}
    with open(os.path.join(HERE, "prices-eu.csv"), newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            eur[r["sku"]] = int(r["amount"])

    # every (template, colour word) a product could be grouped by
    cands = collections.defaultdict(list)  # template -> [(word, row, i)]
    for r in rows:
        if pence(r["MedianUnitPriceGBP"]) == 0:
            continue
        t = " ".join(r["Description"].split()).split(" ")
        for i, w in enumerate(t):
            if w not in COLOURS:
                continue
            if (i > 0 and t[i - 1] in JOINERS) or (i + 1 < len(t) and t[i + 1] in JOINERS):
                continue
            tpl = " ".join(t[:i] + ["{}"] + t[i + 1:])
            cands[tpl].append((w, r, t, i))

    def members(tpl, taken):
        """One member per colour among the untaken: most Lines, then lowest code."""
        best = {}
        for w, r, t, i in cands[tpl]:
            if r["StockCode"] in taken:
                continue
            cur = best.get(w)
            key = (-int(r["Lines"]), r["StockCode"])
            if cur is None or key < (-int(cur[1]["Lines"]), cur[1]["StockCode"]):
                best[w] = (w, r, t, i)
        return sorted(best.values(), key=lambda m: m[1]["StockCode"])

    taken = set()
    groups = []
    while True:
        sizes = [(-len(members(tpl, taken)), tpl) for tpl in cands]
        sizes = [s for s in sizes if -s[0] >= 2]
        if not sizes:
            break
        _, tpl = min(sizes)
        ms = members(tpl, taken)
        groups.append((tpl, ms))
        taken.update(m[1]["StockCode"] for m in ms)
        del cands[tpl]  # one colourway per title: the rest stay products
    groups.sort(key=lambda g: g[1][0][1]["StockCode"])

    used = sorted({m[0] for _, ms in groups for m in ms}, key=lambda w: COLOURS[w][0])
    ptype = {
        "code": "colourway",
        "name": {"en": "Colourway", "de": "Farbvariante", "fr": "Coloris"},
        "attributes": [{
            "code": "colour",
            "name": {"en": "Colour", "de": "Farbe", "fr": "Couleur"},
            "type": "enum",
            "values": [{"code": COLOURS[w][0],
                        "name": {"en": COLOURS[w][1], "de": COLOURS[w][2], "fr": COLOURS[w][3]}}
                       for w in used],
            "filterable": True,
            "variant": True,
        }],
        "options": ["colour"],
    }
    codes = {r["StockCode"] for r in rows}
    parents, variants, drafts, prices = [], [], [], []
    for tpl, ms in groups:
        sku = ms[0][1]["StockCode"] + SUFFIX
        if sku in codes:
            sys.exit("colourways: %s is a StockCode already" % sku)
        cats = collections.Counter(m[1]["category"] for m in ms)
        top = max(cats.values())
        category = next(m[1]["category"] for m in ms if cats[m[1]["category"]] == top)
        w, r, t, i = ms[0]
        parents.append({
            "sku": sku,
            "type": "colourway",
            "category": category,
            "title": {"en": title_of(t, i)},
            "price": {"GBP": min(pence(m[1]["MedianUnitPriceGBP"]) for m in ms)},
            "stock": sum(int(m[1]["Lines"]) for m in ms),
        })
        for w, r, t, i in ms:
            variants.append({
                "product": sku,
                "sku": r["StockCode"],
                "options": {"colour": COLOURS[w][0]},
                "price": {"GBP": pence(r["MedianUnitPriceGBP"])},
                "stock": int(r["Lines"]),
            })
            drafts.append(r["StockCode"])
        member_eur = [eur[m[1]["StockCode"]] for m in ms if m[1]["StockCode"] in eur]
        if member_eur:
            prices.append((sku, min(member_eur)))

    def jsonl(name, docs):
        with open(os.path.join(HERE, name), "w", encoding="utf-8") as fh:
            for d in docs:
                fh.write(json.dumps(d, ensure_ascii=False, separators=(",", ":")) + "\n")

    jsonl("product-types.jsonl", [ptype])
    jsonl("products-colourways.jsonl", parents)
    jsonl("variants.jsonl", variants)
    with open(os.path.join(HERE, "colourway-members.csv"), "w", encoding="utf-8") as fh:
        fh.write("sku,status\n")
        for s in drafts:
            fh.write("%s,draft\n" % s)
    with open(os.path.join(HERE, "prices-eu-colourways.csv"), "w", encoding="utf-8") as fh:
        fh.write("list,sku,amount\n")
        for s, a in prices:
            fh.write("eu-base,%s,%d\n" % (s, a))
    print("colourways: %d groups (%d products), %d variants, %d drafts, %d colours, %d EUR prices"
          % (len(groups), len(parents), len(variants), len(drafts), len(used), len(prices)))


if __name__ == "__main__":
    main()
