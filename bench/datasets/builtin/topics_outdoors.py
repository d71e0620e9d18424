"""Phrase-bank topics, outdoors and animals.

Every sentence keeps the phrase bank's rules (bench/datasets/builtin/bank.py)."""
from __future__ import annotations

from .topic import Topic

TOPICS: tuple[Topic, ...] = (
    Topic("cycling_commute", "Commuting by Bike", (
        "How do I start commuting to work by bicycle?",
        "What do I need to stay safe when cycling in the city?",
        "How can I make my bike commute more comfortable?",
    ), (
        "Plan a route that uses quiet streets and bike lanes where possible.",
        "Bright lights at the front and back make you visible in low light.",
        "A helmet that fits snugly protects your head in a fall.",
        "Riding the route once on a weekend removes the stress from the first commute.",
        "Panniers keep your back cool by carrying bags on the bike instead of your shoulders.",
        "Checking the tyre pressure every week makes pedalling easier.",
        "Signalling your turns clearly helps drivers understand what you plan to do.",
        "Keeping a spare shirt at work solves the problem of arriving sweaty.",
    )),
    Topic("hiking", "Day Hiking", (
        "What should I bring on a day hike?",
        "How do I plan a safe hike in the mountains?",
        "What are good tips for a first-time hiker?",
    ), (
        "Check the weather forecast before you leave and again at the trailhead.",
        "Tell someone your route and the time you expect to return.",
        "Carry more water than you think you will need.",
        "Sturdy shoes with good grip prevent slips on rocky ground.",
        "Layers let you adjust quickly as the temperature changes with altitude.",
        "A paper map still works when your phone battery runs out.",
        "Start early so you have plenty of daylight for the return trip.",
        "Turning back when the weather turns bad is a sign of good judgement.",
    )),
    Topic("dog_training", "Training a Puppy", (
        "How do I train a new puppy?",
        "What is the best way to teach a dog to come when called?",
        "How can I stop my puppy from chewing everything?",
    ), (
        "Reward good behaviour immediately so the puppy links the treat to the action.",
        "Short training sessions keep a young dog focused and eager.",
        "Consistent commands from everyone in the house prevent confusion.",
        "Chew toys give a teething puppy something better to bite than your shoes.",
        "Practise recall in a quiet place before trying it at the park.",
        "Never punish a dog for coming to you even if it took a while.",
        "Plenty of exercise leaves a puppy calmer and less likely to misbehave.",
        "Meeting new people and places early helps a puppy grow into a confident dog.",
    )),
    Topic("camping", "Your First Camping Trip", (
        "What do I need for my first camping trip?",
        "How do I pick a good spot to pitch a tent?",
        "How can I stay warm when camping overnight?",
    ), (
        "Practise pitching the tent at home so you are not learning in the dark.",
        "Choose flat ground that is slightly raised so rain drains away.",
        "A sleeping pad insulates you from the cold ground better than extra blankets.",
        "Pack a headlamp so your hands stay free after sunset.",
        "Store food away from the tent to keep animals out of your campsite.",
        "Wearing a warm hat to bed keeps a surprising amount of heat in.",
        "Check whether campfires are allowed before you light one.",
        "Leave the site as clean as you found it for the next visitors.",
    )),
    Topic("birdwatching", "Birdwatching for Beginners", (
        "How do I get started with birdwatching?",
        "What equipment do I need to watch birds?",
        "How can I attract more birds to my garden?",
    ), (
        "A pair of binoculars is the only essential piece of equipment.",
        "Early morning is when birds are most active and easiest to spot.",
        "A field guide or an identification app helps you put names to the birds you see.",
        "Learning a few common songs lets you find birds you cannot yet see.",
        "Moving slowly and quietly keeps birds from flying away.",
        "Feeders with seeds and a shallow dish of water draw birds into a garden.",
        "Native shrubs offer shelter and food throughout the year.",
        "Keeping a simple notebook of sightings makes each walk more rewarding.",
    )),
)
