"""Prompt sentences: templates filled from word lists, deterministic for a given random generator.

The vocabulary is chosen for phonetic spread (bilabials, labiodentals, open and spread vowels,
rounded vowels, alveolar and velar consonants) so every articulatory class shows up in a few
sentences. Sentences are 6 to 14 words, about 2 to 5 seconds at normal speaking rates; the corpus
writer re-draws a sentence whose synthesized length falls outside its limits.
"""

from __future__ import annotations

import numpy as np

NAMES = (
    "Anna", "Bob", "Maria", "Peter", "Linda", "Tom", "Paula", "David", "Fatima", "George",
    "Mike", "Sophie", "Hugo", "Emma", "Martin", "Olivia", "Kevin", "Rita", "Sam", "Yuki",
)  # fmt: skip
ADJECTIVES = (
    "big", "small", "happy", "quiet", "yellow", "purple", "broken", "shiny", "tired", "cheap",
    "heavy", "smooth", "sharp", "warm", "cold", "bright", "famous", "modern", "ancient", "lucky",
    "rough", "gentle", "empty", "busy", "tiny", "green", "wooden", "careful", "strange", "sweet",
)  # fmt: skip
NOUNS = (
    "apple", "bottle", "bridge", "camera", "doctor", "engine", "farmer", "garden", "hammer", "island",
    "jacket", "kettle", "ladder", "market", "monkey", "needle", "orange", "pillow", "rabbit", "window",
    "teacher", "tunnel", "violin", "wagon", "boat", "map", "cup", "book", "phone", "piano",
    "mirror", "basket", "father", "mother", "pizza", "robot", "shoe", "tomato", "umbrella", "zebra",
)  # fmt: skip
PLURALS = (
    "apples", "boxes", "papers", "pencils", "dishes", "bottles", "flowers", "cookies", "lamps",
    "maps", "books", "shoes", "tickets", "puppies", "bananas", "tomatoes", "candles", "keys",
)  # fmt: skip
VERBS_PAST = (
    "found", "painted", "moved", "carried", "opened", "washed", "bought", "fixed", "dropped",
    "pushed", "watched", "borrowed", "cleaned", "packed", "lifted", "mixed", "chased", "sold",
)  # fmt: skip
VERBS = (
    "move", "open", "clean", "check", "bring", "push", "fix", "pick up", "wash", "paint",
    "measure", "carry", "lift", "keep", "hide", "find", "leave", "close",
)  # fmt: skip
PREPOSITIONS = ("near", "behind", "under", "beside", "above", "inside", "past", "toward", "around", "beyond")
PLACES = (
    "library", "station", "kitchen", "museum", "beach", "office", "bakery", "harbour", "village",
    "airport", "hospital", "school", "park", "farm", "shop",
)  # fmt: skip
TIMES = (
    "this morning", "last night", "on Monday", "at noon", "every week", "before dinner",
    "after lunch", "in the summer", "yesterday", "at five o'clock", "next Tuesday", "right away",
)  # fmt: skip
ADVERBS = ("quickly", "slowly", "quietly", "happily", "carefully", "loudly", "badly", "easily", "boldly", "gently")
NUMBERS = ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twelve", "twenty")
RELATIVES = ("sister", "brother", "uncle", "aunt", "father", "mother", "cousin", "neighbour", "friend", "boss")

TEMPLATES = (
    "The {adj} {noun} {verb_past} the {adj2} {noun2} {prep} the {place}.",
    "{Name} {verb_past} a {adj} {noun} {time}.",
    "Please {verb} the {noun} {prep} the {adj} {noun2} {time}.",
    "Why did the {adj} {noun} {verb} the {noun2} so {adverb}?",
    "My {relative} bought {number} {adj} {plural} at the {place}.",
    "We {verb_past} the {plural} {adverb} and then went to the {place}.",
    "{Name} thinks that the {noun} is {adj} but {adj2}.",
    "It was {time} when {Name} {verb_past} the {adj} {noun}.",
    "Do not {verb} the {adj} {noun} until {Name} comes back.",
    "The {noun} {prep} the {place} looked {adj} and {adj2} {time}.",
    "{Name} and {Name2} {verb_past} {number} {plural} {prep} the {noun}.",
    "Could you {verb} my {adj} {noun} before we leave the {place}?",
)


def _pick(rng: np.random.Generator, words: tuple[str, ...]) -> str:
    return words[int(rng.integers(len(words)))]


def make_sentence(rng: np.random.Generator) -> str:
    """One prompt sentence drawn with ``rng`` (same generator state -> same sentence)."""
    template = _pick(rng, TEMPLATES)
    name, name2 = rng.choice(len(NAMES), size=2, replace=False)
    adj, adj2 = rng.choice(len(ADJECTIVES), size=2, replace=False)
    noun, noun2 = rng.choice(len(NOUNS), size=2, replace=False)
    fields = {
        "Name": NAMES[name], "Name2": NAMES[name2],
        "adj": ADJECTIVES[adj], "adj2": ADJECTIVES[adj2],
        "noun": NOUNS[noun], "noun2": NOUNS[noun2],
        "plural": _pick(rng, PLURALS), "verb_past": _pick(rng, VERBS_PAST), "verb": _pick(rng, VERBS),
        "prep": _pick(rng, PREPOSITIONS), "place": _pick(rng, PLACES), "time": _pick(rng, TIMES),
        "adverb": _pick(rng, ADVERBS), "number": _pick(rng, NUMBERS), "relative": _pick(rng, RELATIVES),
    }  # fmt: skip
    return template.format(**fields)
