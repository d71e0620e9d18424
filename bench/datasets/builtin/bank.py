"""The phrase bank: everyday topics, the questions a user asks about them and fluent answer sentences.

Written for this project. Rules the generator relies on (checked by the tests): answer sentences hold
no digits, no quotes, no asterisks, no abbreviations with inner full stops, and each ends with a full stop;
most have no comma so answers without commas can still be written.

The topics live by family in topics_home.py, topics_health.py, topics_work.py and topics_outdoors.py; TOPIC_ORDER
keeps the order the generator draws them in, so the data (and its version) do not depend on how they are filed.
"""
from __future__ import annotations

from . import topics_health, topics_home, topics_outdoors, topics_work
from .topic import Topic

# The generator picks topics by index: a new order is new data. A new topic goes into its family's file and here.
TOPIC_ORDER: tuple[str, ...] = (
    "houseplants", "sleep", "budgeting", "running", "coffee", "public_speaking", "cooking_rice", "email", "bread",
    "learning_language", "cycling_commute", "job_interview", "decluttering", "hiking", "dog_training", "meal_prep",
    "time_management", "gardening_tomatoes", "stress", "saving_energy", "reading_habit", "camping",
    "smartphone_battery", "studying", "hosting_dinner", "moving_house", "photography", "volunteering",
    "drinking_water", "car_maintenance", "journaling", "birdwatching",
)
_BY_KEY = {t.key: t for family in (topics_home, topics_health, topics_work, topics_outdoors) for t in family.TOPICS}
if sorted(_BY_KEY) != sorted(TOPIC_ORDER):  # a topic filed but not ordered, or the other way round
    raise RuntimeError(f"phrase bank: TOPIC_ORDER and the topic files differ in {sorted(set(_BY_KEY) ^ set(TOPIC_ORDER))}")
TOPICS: tuple[Topic, ...] = tuple(_BY_KEY[key] for key in TOPIC_ORDER)


OFF_TOPIC_FILLERS: tuple[str, ...] = (
    "That is a very interesting question and there are many things to say about it.",
    "Everyone has their own opinion on this and it really depends.",
    "I think it is important to consider all the different aspects.",
    "There are lots of resources online where you can read more about this.",
    "This is something many people wonder about from time to time.",
    "It is hard to give a single answer because every situation is different.",
)
