"""The demo campaign's content: who, which groups, which resources, and three weeks of posts.

Times are (day, hour) offsets from the campaign's first Monday (UTC).  The lead starts the
week with 17 followers, which trickle up as topics, podcasts and training sessions land.
"""

from __future__ import annotations

from api.domain.enums import GoalMetric, GroupPrivacy, PromotionKind, ResourceKind

LEAD = "dana.whitfield@example.com"

# email, name, job title, department, followers at the start
PEOPLE = [
    (LEAD, "Dana Whitfield", "Learning & Development Lead", "Learning & Development", 17),
    (
        "priya.raman@example.com",
        "Priya Raman",
        "Leadership Development Partner",
        "Learning & Development",
        64,
    ),
    (
        "marcus.oyelaran@example.com",
        "Marcus Oyelaran",
        "Management Training Specialist",
        "Learning & Development",
        41,
    ),
    (
        "elena.sokolova@example.com",
        "Elena Sokolova",
        "Change Management Consultant",
        "Transformation Office",
        52,
    ),
    ("tom.becker@example.com", "Tom Becker", "Employee Engagement Analyst", "People Analytics", 38),
    ("aisha.khan@example.com", "Aisha Khan", "Regional Sales Manager", "Sales", 120),
    ("ben.carter@example.com", "Ben Carter", "Engineering Manager", "Engineering", 87),
    ("chloe.martin@example.com", "Chloe Martin", "HR Business Partner", "Human Resources", 95),
    ("diego.alvarez@example.com", "Diego Alvarez", "Operations Lead", "Operations", 33),
    ("fatima.noor@example.com", "Fatima Noor", "Finance Manager", "Finance", 29),
    ("george.li@example.com", "George Li", "Product Manager", "Product", 76),
    (
        "hannah.schmidt@example.com",
        "Hannah Schmidt",
        "Customer Success Manager",
        "Customer Success",
        44,
    ),
    ("ivan.petrov@example.com", "Ivan Petrov", "IT Team Lead", "IT", 25),
    ("julia.rossi@example.com", "Julia Rossi", "Marketing Manager", "Marketing", 133),
    ("kofi.mensah@example.com", "Kofi Mensah", "Project Manager", "PMO", 18),
    ("laura.jensen@example.com", "Laura Jensen", "Store Manager", "Retail", 22),
]

# followers gained by the lead on each (day, hour); the first Monday starts at 17
LEAD_FOLLOWERS = [
    ((0, 0), 17),
    ((0, 15), 18),
    ((1, 11), 19),
    ((2, 17), 23),
    ((3, 10), 24),
    ((4, 16), 25),
    ((7, 9), 27),
    ((8, 14), 28),
    ((9, 18), 33),
    ((10, 12), 34),
    ((11, 15), 36),
    ((14, 10), 37),
    ((15, 16), 45),
    ((16, 11), 46),
    ((17, 14), 48),
    ((18, 9), 49),
]

# name, description, privacy, members, joined, tracked by the campaign
GROUPS = [
    (
        "Employee Engagement",
        "Run by the survey team: results, actions and ideas from the engagement survey.",
        GroupPrivacy.PUBLIC,
        412,
        True,
        True,
    ),
    (
        "Social Media at Work",
        "How we use social tools to share knowledge across the company.",
        GroupPrivacy.PUBLIC,
        238,
        True,
        True,
    ),
    ("All Company", "Announcements for everyone.", GroupPrivacy.PUBLIC, 5120, True, False),
    ("Leadership Circle", "Senior leaders only.", GroupPrivacy.PRIVATE, 36, False, False),
]

CAMPAIGN = {
    "slug": "learning-community",
    "name": "Learning Community Launch",
    "description": "Building learning communities for managers on the company microblog: "
    "four topics, their managers, podcasts, courses and promotion at training sessions.",
}

# hashtag, name, description, manager email
TOPICS = [
    ("leadership", "Leadership", "Leading people and ourselves.", "priya.raman@example.com"),
    (
        "managing",
        "Managing",
        "The everyday craft of managing a team.",
        "marcus.oyelaran@example.com",
    ),
    ("change", "Change", "Leading and living through change.", "elena.sokolova@example.com"),
    (
        "engagement",
        "Engagement",
        "What makes people care about their work.",
        "tom.becker@example.com",
    ),
]

PODCAST = "https://learning.example.com/podcasts/engaged-managers"
HBR = "https://hbr.org/2007/02/in-praise-of-the-incomplete-leader"
BOOK = "https://books.example.com/the-carrot-principle"
COURSE_CHANGE = "https://myportfolio.example.com/courses/MP-1042"
COURSE_COACHING = "https://myportfolio.example.com/courses/MP-2077"

# kind, title, url, provider, lms course id, description, topic hashtags
RESOURCES = [
    (
        ResourceKind.PODCAST_SERIES,
        "Engaged Managers",
        PODCAST,
        "L&D Podcasts",
        None,
        "Five interviews with highly engaged managers about what they do differently.",
        ["leadership", "managing", "engagement"],
    ),
    (
        ResourceKind.ARTICLE,
        "In Praise of the Incomplete Leader",
        HBR,
        "Harvard ManageMentor",
        None,
        "Ancona, Malone, Orlikowski and Senge on why no leader has to be complete.",
        ["leadership", "change"],
    ),
    (
        ResourceKind.BOOK,
        "The Carrot Principle",
        BOOK,
        "Library",
        None,
        "Gostick and Elton on recognition as an accelerator of engagement.",
        ["managing", "engagement"],
    ),
    (
        ResourceKind.COURSE,
        "Leading Through Change",
        COURSE_CHANGE,
        "My Portfolio",
        "MP-1042",
        "A four-week LMS course for people managers.",
        ["change", "leadership"],
    ),
    (
        ResourceKind.COURSE,
        "Coaching for Engagement",
        COURSE_COACHING,
        "My Portfolio",
        "MP-2077",
        "Short coaching conversations that raise engagement.",
        ["engagement", "managing"],
    ),
]

EPISODES = [
    "Episode 1: Recognition every day, with Aisha Khan",
    "Episode 2: Running one-to-ones that matter, with Ben Carter",
    "Episode 3: Leading a team through a reorganisation",
    "Episode 4: Trust, autonomy and the remote team",
    "Episode 5: What engaged managers stop doing",
]

# key, author email, (day, hour), group name or None, body, likes, [(author, (day, hour), body, likes)]
POSTS = [
    (
        "p1",
        LEAD,
        (0, 9),
        "Social Media at Work",
        "Welcome to our new learning community! Follow #leadership #managing #change and #engagement "
        "to get tips, podcasts and courses from our topic managers.",
        14,
        [
            ("chloe.martin@example.com", (0, 11), "Great initiative, following all four!", 3),
            ("george.li@example.com", (0, 14), "Following. Will there be a podcast?", 1),
        ],
    ),
    (
        "p2",
        "marcus.oyelaran@example.com",
        (0, 13),
        None,
        "Tip from The Carrot Principle: recognise the behaviour, not just the result, and do it "
        "within a day while it still means something. #managing",
        9,
        [("laura.jensen@example.com", (0, 16), "Doing this with my store team tomorrow.", 2)],
    ),
    (
        "p3",
        "priya.raman@example.com",
        (1, 10),
        None,
        "Episode 1 of our Engaged Managers podcast is live: recognition every day. "
        f"{PODCAST}/1?utm_source=yammer&utm_medium=post #leadership #engagement",
        12,
        [
            ("aisha.khan@example.com", (1, 12), "Fun to record, thanks for having me!", 5),
            (
                "ben.carter@example.com",
                (1, 15),
                "Listened on the train. The bit about notes was great.",
                2,
            ),
        ],
    ),
    (
        "p4",
        "elena.sokolova@example.com",
        (1, 14),
        None,
        "“No leader is perfect. The best ones don't try to be; they concentrate on honing their "
        "strengths and find others who can make up for their limitations.” #leadership #change",
        11,
        [("diego.alvarez@example.com", (1, 18), "Needed to hear this today.", 1)],
    ),
    (
        "p5",
        "tom.becker@example.com",
        (2, 9),
        "Employee Engagement",
        "What is one thing your manager did this week that made you feel recognised? #engagement",
        6,
        [
            (
                "hannah.schmidt@example.com",
                (2, 10),
                "She thanked me in front of the whole team for a fix.",
                4,
            ),
            ("kofi.mensah@example.com", (2, 13), "He asked for my opinion before deciding.", 3),
            (
                "fatima.noor@example.com",
                (3, 8),
                "Cover for me so I could see my daughter's play.",
                6,
            ),
        ],
    ),
    (
        "p6",
        "tom.becker@example.com",
        (2, 16),
        "Employee Engagement",
        "The engagement survey closes Friday. Results and actions will be shared in this group.",
        4,
        [],
    ),
    (
        "p7",
        "marcus.oyelaran@example.com",
        (3, 11),
        None,
        "New in My Portfolio: Coaching for Engagement, short coaching conversations you can have "
        f"this week. {COURSE_COACHING} #managing",
        7,
        [("ivan.petrov@example.com", (3, 15), "Enrolled. Is there a cohort?", 0)],
    ),
    (
        "p8",
        "priya.raman@example.com",
        (4, 10),
        None,
        "Tip: end every one-to-one by asking what you could do differently as their manager. "
        "#leadership",
        8,
        [],
    ),
    (
        "p9",
        "julia.rossi@example.com",
        (4, 15),
        "Social Media at Work",
        "How do other teams share wins on the microblog without it feeling like bragging?",
        3,
        [
            (
                "chloe.martin@example.com",
                (4, 17),
                "Credit the team, and tag the people who helped.",
                2,
            )
        ],
    ),
    (
        "p10",
        "priya.raman@example.com",
        (7, 9),
        None,
        f"Episode 2: running one-to-ones that matter, with Ben Carter. {PODCAST}/2/ #leadership #managing",
        10,
        [("marcus.oyelaran@example.com", (7, 11), "Sharing with my new managers' cohort.", 1)],
    ),
    (
        "p11",
        "elena.sokolova@example.com",
        (7, 14),
        None,
        "Our four-week course Leading Through Change opens for enrolment: "
        f"{COURSE_CHANGE}?utm_campaign=launch #change",
        9,
        [("diego.alvarez@example.com", (7, 16), "Signed up my whole shift leads team.", 3)],
    ),
    (
        "p12",
        "elena.sokolova@example.com",
        (8, 10),
        None,
        "Why do change programmes stall in month three? Curious what you have seen. #change",
        5,
        [
            (
                "george.li@example.com",
                (8, 12),
                "The people who have to change stop hearing why.",
                4,
            ),
            ("ben.carter@example.com", (8, 15), "Nobody owns the boring middle part.", 2),
        ],
    ),
    (
        "p13",
        "marcus.oyelaran@example.com",
        (9, 9),
        None,
        "Tip: specific praise beats general praise. 'Your summary saved the client call' lands; "
        "'good job' fades. #managing #engagement",
        13,
        [("laura.jensen@example.com", (9, 12), "So true.", 1)],
    ),
    (
        "p14",
        "priya.raman@example.com",
        (9, 15),
        None,
        "Sensemaking, relating, visioning, inventing: which of the four capabilities is your strength? "
        f"Read In Praise of the Incomplete Leader in Harvard ManageMentor: {HBR} #leadership",
        15,
        [
            ("aisha.khan@example.com", (9, 18), "Relating, definitely. Visioning is my gap.", 3),
            ("julia.rossi@example.com", (10, 9), "Inventing! Happy to pair with a sensemaker.", 2),
        ],
    ),
    (
        "p15",
        "tom.becker@example.com",
        (10, 11),
        None,
        f"Episode 3 is out: leading a team through a reorganisation. {PODCAST}/3 #engagement #change",
        8,
        [],
    ),
    (
        "p16",
        "priya.raman@example.com",
        (14, 9),
        None,
        f"Episode 4: trust, autonomy and the remote team. {PODCAST}/4 #leadership",
        9,
        [("ivan.petrov@example.com", (14, 13), "Useful for my distributed team.", 1)],
    ),
    (
        "p17",
        "elena.sokolova@example.com",
        (15, 10),
        None,
        "“Only when leaders come to see themselves as incomplete, as having both strengths and "
        "weaknesses, will they be able to make up for their missing skills by relying on others.” "
        "#change #leadership",
        12,
        [("kofi.mensah@example.com", (15, 14), "Printing this for my desk.", 2)],
    ),
    (
        "p18",
        "tom.becker@example.com",
        (16, 10),
        "Employee Engagement",
        "Survey results are in: recognition is the top driver again this year. Thank you to everyone "
        "who took part. #engagement",
        21,
        [
            (
                "chloe.martin@example.com",
                (16, 12),
                "Will the team-level results be shared with managers?",
                2,
            ),
            (
                "tom.becker@example.com",
                (16, 14),
                "Yes, next week, with a guide for the conversation.",
                5,
            ),
        ],
    ),
    (
        "p19",
        "marcus.oyelaran@example.com",
        (17, 9),
        None,
        f"Last one in the series! Episode 5: what engaged managers stop doing. {PODCAST}/5 #managing",
        11,
        [("hannah.schmidt@example.com", (17, 11), "Binged all five this weekend.", 3)],
    ),
    (
        "p20",
        "laura.jensen@example.com",
        (18, 13),
        None,
        "Started a weekly 'thank you' board in the break room after the #managing tips. "
        "The team added twelve notes on day one.",
        17,
        [
            (
                "marcus.oyelaran@example.com",
                (18, 15),
                "Love it. Mind if I share this in the bootcamp?",
                2,
            )
        ],
    ),
]

# A post removed on the microblog: mirrored with deleted_at, shown nowhere.
DELETED_POST = ("ben.carter@example.com", (5, 10), "Testing, please ignore #leadership", 0)

# kind, title, (day offset), audience, topics
PROMOTIONS = [
    (
        PromotionKind.TRAINING_SESSION,
        "New managers' bootcamp (face to face)",
        2,
        24,
        ["managing", "leadership"],
    ),
    (PromotionKind.VIRTUAL_SESSION, "Leading change webinar", 9, 80, ["change"]),
    (PromotionKind.COMPANY_EVENT, "Quarterly town hall", 15, 300, ["engagement", "leadership"]),
]

# metric, target, due (weeks after the start)
GOALS = [
    (GoalMetric.FOLLOWERS, 60, 8),
    (GoalMetric.POSTS, 40, 8),
    (GoalMetric.LIKES, 300, 8),
    (GoalMetric.ACTIVE_AUTHORS, 25, 8),
]

# resource url, client, clicks
CLICKS = [
    (f"{PODCAST}/1", "mobile", 6),
    (f"{PODCAST}/1", "web", 3),
    (HBR, "web", 4),
    (COURSE_CHANGE, "lms", 5),
]
