"""Phrase-bank topics, money, work and learning.

Every sentence keeps the phrase bank's rules (bench/datasets/builtin/bank.py)."""
from __future__ import annotations

from .topic import Topic

TOPICS: tuple[Topic, ...] = (
    Topic("budgeting", "Simple Budgeting", (
        "How do I start a personal budget?",
        "What is a simple way to keep track of my spending?",
        "How can I save more money each month without feeling deprived?",
    ), (
        "Start by writing down every expense for a month to see where your money really goes.",
        "Separate fixed costs like rent from flexible costs like eating out.",
        "Paying yourself first means moving savings aside as soon as your income arrives.",
        "A small emergency fund keeps surprise bills from turning into debt.",
        "Cancelling subscriptions you rarely use is an easy early win.",
        "Setting a realistic spending limit for fun keeps the budget sustainable.",
        "Reviewing the budget every month lets you adjust before small problems grow.",
        "Automatic transfers make saving happen without relying on willpower.",
    )),
    Topic("public_speaking", "Confident Public Speaking", (
        "How can I get better at public speaking?",
        "What should I do to calm my nerves before giving a presentation?",
        "How do I keep an audience interested during a talk?",
    ), (
        "Rehearsing out loud several times makes the words feel natural.",
        "Knowing your opening lines by heart helps you start with confidence.",
        "Slow deep breaths before you begin can settle a racing heart.",
        "Looking at friendly faces in the room makes the talk feel like a conversation.",
        "A short personal story often holds attention better than a list of facts.",
        "Pausing after an important point gives the audience time to absorb it.",
        "Simple slides with few words keep people listening to you instead of reading.",
        "Nervous energy is normal and the audience rarely notices it as much as you do.",
    )),
    Topic("email", "Writing Clear Emails", (
        "How do I write a clear and professional email?",
        "What makes a work email easy to read?",
        "How can I get people to actually reply to my emails?",
    ), (
        "A specific subject line tells the reader what the message is about before they open it.",
        "Put the main request in the first few lines instead of burying it at the end.",
        "Short paragraphs make the message easier to scan on a phone.",
        "Ending with a clear question or next step makes replying simple.",
        "A polite and friendly tone goes a long way even in a brief message.",
        "Reading the email once before sending catches typos and unclear phrases.",
        "Only copy the people who truly need to see the message.",
        "Attach files before you write the text so you do not forget them.",
    )),
    Topic("learning_language", "Learning a New Language", (
        "What is the best way to learn a new language as an adult?",
        "How can I remember new vocabulary in a foreign language?",
        "How do I stay motivated while learning a language?",
    ), (
        "A little practice every day works better than a long session once a week.",
        "Spaced repetition flashcards help new words move into long-term memory.",
        "Listening to podcasts in the language trains your ear for natural speech.",
        "Speaking with a partner early on builds confidence faster than silent study.",
        "Making mistakes is part of the process and native speakers usually appreciate the effort.",
        "Learning whole phrases instead of single words makes conversation easier.",
        "Watching shows with subtitles connects spoken words to their written form.",
        "Setting small goals such as ordering a meal keeps progress visible.",
    )),
    Topic("job_interview", "Preparing for a Job Interview", (
        "How should I prepare for a job interview?",
        "What are good ways to answer common interview questions?",
        "How do I make a strong impression in an interview?",
    ), (
        "Research the company so you can explain why the role interests you.",
        "Prepare short stories that show how you solved real problems.",
        "Practising your interview answers out loud helps them sound natural rather than memorised.",
        "Arriving a little early for the interview gives you time to settle your nerves.",
        "Asking thoughtful questions at the end shows genuine interest in the job.",
        "Listen carefully to each question before you start answering.",
        "Dressing slightly more formally than the workplace usually looks polished.",
        "A brief thank-you note afterwards keeps you fresh in the interviewer's mind.",
    )),
    Topic("studying", "Studying Effectively", (
        "What are the most effective ways to study for an exam?",
        "How can I remember what I read in my textbooks?",
        "How should I plan my revision before finals?",
    ), (
        "Testing yourself is far more effective than simply rereading your notes.",
        "Spreading study sessions over several days helps memories stick.",
        "Explaining a topic in your own words reveals the gaps in your understanding.",
        "A quiet place without your phone makes each hour more productive.",
        "Mixing different types of problems trains you to choose the right method.",
        "Sleep after studying helps the brain store what you learned.",
        "Past exam papers show the style of questions you are likely to face.",
        "Short breaks between sessions keep your concentration from fading.",
    )),
    Topic("photography", "Taking Better Photos", (
        "How can I take better photos with my phone?",
        "What are simple composition tips for photography?",
        "How do I take good photos in low light?",
    ), (
        "Soft light early in the morning or late in the afternoon flatters most subjects.",
        "Placing the subject slightly off centre often makes a picture more interesting.",
        "Cleaning the lens removes the haze that smudges so many phone photos.",
        "Getting closer to your subject usually beats zooming in.",
        "A steady hand or a simple support keeps low light shots sharp.",
        "Tapping the screen sets the focus and exposure on what matters.",
        "Looking at the background before you shoot avoids distracting clutter.",
        "Taking several shots gives you a better chance of catching the right moment.",
    )),
    Topic("volunteering", "Getting into Volunteering", (
        "How do I find volunteer work that suits me?",
        "What should I know before I start volunteering?",
        "How can volunteering fit into a busy schedule?",
    ), (
        "Think about the causes you care about before you look for a role.",
        "Local charities often need volunteers for simple tasks like sorting donations.",
        "Skills from your job such as writing or accounting can be very valuable to small groups.",
        "Starting with a one-off event lets you try an organisation without a long commitment.",
        "Be honest about how much time you can give so the charity can plan.",
        "Volunteering with a friend makes it easier to keep going.",
        "Many roles can be done remotely in the evenings or at weekends.",
        "Regular volunteers often find the work builds new friendships and confidence.",
    )),
)
