"""Phrase-bank topics, health and habits: sleep, exercise, stress and daily routines.

Every sentence keeps the phrase bank's rules (bench/datasets/builtin/bank.py)."""
from __future__ import annotations

from .topic import Topic

TOPICS: tuple[Topic, ...] = (
    Topic("sleep", "Better Sleep", (
        "How can I sleep better at night?",
        "What habits help people fall asleep faster?",
        "Why do I wake up tired and how can I fix it?",
    ), (
        "Going to bed and waking up at the same time every day steadies your body clock.",
        "A cool and dark bedroom makes it easier to drift off.",
        "Screens in the hour before bed can keep your mind alert for longer.",
        "Caffeine late in the afternoon often lingers long enough to disturb sleep.",
        "A short wind-down routine such as reading tells your brain that the day is ending.",
        "Regular daytime exercise tends to deepen sleep later that night.",
        "Heavy meals right before bed can cause discomfort that keeps you awake.",
        "If you cannot fall asleep after a while it helps to get up and do something calm.",
    )),
    Topic("running", "Starting to Run", (
        "How should a complete beginner start running?",
        "What are good tips for someone training for their first race?",
        "How do I avoid injuries when I take up running?",
    ), (
        "Begin with short intervals that mix easy jogging and walking.",
        "Running at a conversational pace builds endurance without exhausting you.",
        "Comfortable shoes that fit well matter more than expensive gear.",
        "Increase your weekly distance gradually so your joints can adapt.",
        "Rest days give your muscles the time they need to repair and get stronger.",
        "A gentle warm-up before each run prepares your body for the effort.",
        "Sharp or lasting pain is a signal to stop and let the body recover.",
        "Keeping a simple log of your runs shows how much progress you are making.",
    )),
    Topic("stress", "Handling Stress", (
        "What are healthy ways to deal with stress?",
        "How can I calm down quickly when I feel overwhelmed?",
        "How do I stop work stress from following me home?",
    ), (
        "Slow breathing with a longer exhale tells your nervous system to relax.",
        "A short walk outside can clear your head surprisingly fast.",
        "Talking to a friend often makes a problem feel smaller.",
        "Writing your worries down moves them out of your head and onto paper.",
        "Regular sleep and meals give you a steadier base for handling pressure.",
        "A clear ritual at the end of the workday helps you switch off.",
        "Limiting news and social media can lower background anxiety.",
        "If stress lasts for weeks it is wise to talk with a doctor or counsellor.",
    )),
    Topic("reading_habit", "Building a Reading Habit", (
        "How can I read more books?",
        "What is a good way to build a daily reading habit?",
        "How do I get back into reading after a long break?",
    ), (
        "Reading a few pages before bed is an easy habit to keep.",
        "Carrying a book or an ebook means you can read whenever you wait in line.",
        "It is fine to abandon a book that does not hold your interest.",
        "Short stories and essays are a gentle way back into reading.",
        "Joining a book club adds a friendly deadline and good conversation.",
        "Libraries let you try many books without spending money.",
        "Audiobooks turn commutes and chores into reading time.",
        "Keeping a list of books you want to read makes choosing the next one easy.",
    )),
    Topic("drinking_water", "Drinking Enough Water", (
        "How can I remember to drink more water during the day?",
        "How do I know if I am drinking enough water?",
        "What are easy ways to stay hydrated at work?",
    ), (
        "Keeping a refillable bottle on your desk makes sipping automatic.",
        "Pale yellow urine is a simple sign that you are well hydrated.",
        "Drinking a glass of water with every meal builds a steady routine.",
        "Fruit and vegetables with high water content also count toward hydration.",
        "Hot weather and exercise increase how much water your body needs.",
        "Adding slices of lemon or cucumber makes plain water more appealing.",
        "Thirst can feel like hunger so a drink sometimes settles a craving.",
        "Setting gentle reminders on your phone helps during busy days.",
    )),
    Topic("journaling", "Keeping a Journal", (
        "How do I start keeping a journal?",
        "What should I write about in a daily journal?",
        "What are the benefits of journaling?",
    ), (
        "Writing for just a few minutes a day is enough to build the habit.",
        "There is no wrong way to journal because the pages are only for you.",
        "Noting three good things from the day can lift your mood over time.",
        "Describing a difficult moment on paper often makes it easier to understand.",
        "A simple notebook works just as well as a fancy app.",
        "Rereading old entries shows how much you have grown.",
        "Prompts such as what surprised you today help when your mind feels blank.",
        "Keeping the journal by your bed makes evening writing easy to remember.",
    )),
    Topic("time_management", "Managing Your Time", (
        "How can I manage my time better at work?",
        "What techniques help with procrastination?",
        "How do I prioritise when everything feels urgent?",
    ), (
        "Writing a short list of priorities each morning gives the day a clear direction.",
        "Breaking a big task into small steps makes it easier to begin.",
        "Working in focused blocks with short breaks keeps your energy steady.",
        "Turning off notifications protects your attention from constant interruptions.",
        "Doing the hardest task first removes the weight of dreading it all day.",
        "Saying no to low-value requests frees time for what truly matters.",
        "Grouping similar chores together reduces the cost of switching between them.",
        "A quick review at the end of the day shows what to carry over to tomorrow.",
    )),
)
