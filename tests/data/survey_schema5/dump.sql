BEGIN TRANSACTION;
CREATE TABLE "answers" (
    id INTEGER NOT NULL PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    cache_key VARCHAR(64) NOT NULL,
    country VARCHAR(64) NOT NULL,
    topic VARCHAR(64) NOT NULL,
    value VARCHAR(64) NOT NULL,
    variant INTEGER NOT NULL,
    sample INTEGER NOT NULL,
    raw TEXT NOT NULL,
    code VARCHAR(32),
    position FLOAT,
    missing VARCHAR(32),
    probs TEXT,
    option_mass FLOAT,
    expected FLOAT,
    context VARCHAR(512) DEFAULT '' NOT NULL,
    CONSTRAINT uq_answer UNIQUE (run_id, country, topic, value, variant, sample, context),
    FOREIGN KEY (run_id, cache_key) REFERENCES prompts (run_id, cache_key) ON DELETE CASCADE
);
CREATE TABLE prompts (
	id INTEGER NOT NULL, 
	run_id INTEGER NOT NULL, 
	cache_key VARCHAR(64) NOT NULL, 
	country VARCHAR(64) NOT NULL, 
	topic VARCHAR(64) NOT NULL, 
	item VARCHAR(64), 
	variant INTEGER NOT NULL, 
	sample INTEGER NOT NULL, 
	raw TEXT NOT NULL, 
	error TEXT, 
	latency FLOAT, 
	attempts INTEGER NOT NULL, 
	prompt_tokens INTEGER, 
	completion_tokens INTEGER, 
	created_at DATETIME NOT NULL, context VARCHAR(512) DEFAULT '' NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_prompt_once UNIQUE (run_id, cache_key), 
	FOREIGN KEY(run_id) REFERENCES runs (id) ON DELETE CASCADE
);
CREATE TABLE run_leases (
	run_id INTEGER NOT NULL, 
	host VARCHAR(255) NOT NULL, 
	pid INTEGER NOT NULL, 
	token VARCHAR(32) NOT NULL, 
	heartbeat_at DATETIME NOT NULL, 
	PRIMARY KEY (run_id), 
	FOREIGN KEY(run_id) REFERENCES runs (id) ON DELETE CASCADE
);
CREATE TABLE runs (
	id INTEGER NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	model VARCHAR(500) NOT NULL, 
	spec VARCHAR(500) NOT NULL, 
	mode VARCHAR(10) NOT NULL, 
	params JSON NOT NULL, 
	grid JSON NOT NULL, 
	instrument VARCHAR(64) NOT NULL, 
	prompts_digest VARCHAR(64) NOT NULL, 
	version VARCHAR(40) NOT NULL, 
	status VARCHAR(20) NOT NULL, 
	started_at DATETIME NOT NULL, 
	finished_at DATETIME, 
	note TEXT, instrument_spec JSON, prompt_design JSON, 
	PRIMARY KEY (id), 
	UNIQUE (name)
);
CREATE TABLE schema_meta (
	"key" VARCHAR(64) NOT NULL, 
	value VARCHAR(256) NOT NULL, 
	PRIMARY KEY ("key")
);
INSERT INTO "schema_meta" VALUES('schema_version','5');
CREATE TABLE survey_admin_sessions (
	digest VARCHAR(64) NOT NULL, 
	created_at DATETIME NOT NULL, 
	expires_at DATETIME NOT NULL, 
	PRIMARY KEY (digest)
);
CREATE TABLE survey_answers (
	participant_id INTEGER NOT NULL, 
	item VARCHAR(64) NOT NULL, 
	code VARCHAR(32) NOT NULL, 
	page INTEGER NOT NULL, 
	PRIMARY KEY (participant_id, item), 
	FOREIGN KEY(participant_id) REFERENCES survey_participants (id) ON DELETE CASCADE
);
INSERT INTO "survey_answers" VALUES(1,'meaning_in_life','2',1);
INSERT INTO "survey_answers" VALUES(1,'wealth','1',1);
INSERT INTO "survey_answers" VALUES(1,'self_respect','0',1);
INSERT INTO "survey_answers" VALUES(1,'equality','-1',1);
INSERT INTO "survey_answers" VALUES(1,'reciprocation_of_favors','-2',1);
INSERT INTO "survey_answers" VALUES(1,'independent','irrelevant',1);
INSERT INTO "survey_answers" VALUES(1,'capable','2',1);
INSERT INTO "survey_answers" VALUES(1,'sense_of_belonging','1',1);
INSERT INTO "survey_answers" VALUES(1,'authority','0',1);
INSERT INTO "survey_answers" VALUES(1,'a_spiritual_life','-1',1);
INSERT INTO "survey_answers" VALUES(1,'check_disagree','-2',1);
INSERT INTO "survey_answers" VALUES(1,'curious','irrelevant',1);
INSERT INTO "survey_answers" VALUES(1,'respect_for_tradition','2',1);
INSERT INTO "survey_answers" VALUES(1,'mature_love','1',1);
INSERT INTO "survey_answers" VALUES(1,'honest','0',1);
INSERT INTO "survey_answers" VALUES(1,'forgiving','-1',2);
INSERT INTO "survey_answers" VALUES(1,'clean','-2',2);
INSERT INTO "survey_answers" VALUES(1,'self_discipline','irrelevant',2);
INSERT INTO "survey_answers" VALUES(1,'national_security','2',2);
INSERT INTO "survey_answers" VALUES(1,'freedom','1',2);
INSERT INTO "survey_answers" VALUES(1,'enjoying_life','0',2);
INSERT INTO "survey_answers" VALUES(1,'a_varied_life','-1',2);
INSERT INTO "survey_answers" VALUES(1,'intelligent','-2',2);
INSERT INTO "survey_answers" VALUES(1,'helpful','irrelevant',2);
INSERT INTO "survey_answers" VALUES(1,'choosing_own_goals','2',2);
INSERT INTO "survey_answers" VALUES(1,'obedient','1',2);
INSERT INTO "survey_answers" VALUES(1,'creativity','0',2);
INSERT INTO "survey_answers" VALUES(1,'wisdom','-1',2);
INSERT INTO "survey_answers" VALUES(1,'ambitious','-2',2);
INSERT INTO "survey_answers" VALUES(1,'influential','irrelevant',2);
INSERT INTO "survey_answers" VALUES(1,'social_order','2',3);
INSERT INTO "survey_answers" VALUES(1,'accepting_my_portion_in_life','1',3);
INSERT INTO "survey_answers" VALUES(1,'daring','0',3);
INSERT INTO "survey_answers" VALUES(1,'check_agree','2',3);
INSERT INTO "survey_answers" VALUES(1,'protecting_the_environment','-2',3);
INSERT INTO "survey_answers" VALUES(1,'broad_minded','irrelevant',3);
INSERT INTO "survey_answers" VALUES(1,'a_world_of_beauty','2',3);
INSERT INTO "survey_answers" VALUES(1,'healthy','1',3);
INSERT INTO "survey_answers" VALUES(1,'family_security','0',3);
INSERT INTO "survey_answers" VALUES(1,'detachment','-1',3);
INSERT INTO "survey_answers" VALUES(1,'loyal','-2',3);
INSERT INTO "survey_answers" VALUES(1,'pleasure','irrelevant',3);
INSERT INTO "survey_answers" VALUES(1,'devout','2',3);
INSERT INTO "survey_answers" VALUES(1,'an_exciting_life','1',3);
INSERT INTO "survey_answers" VALUES(1,'responsible','0',4);
INSERT INTO "survey_answers" VALUES(1,'true_friendship','-1',4);
INSERT INTO "survey_answers" VALUES(1,'a_world_at_peace','-2',4);
INSERT INTO "survey_answers" VALUES(1,'politeness','irrelevant',4);
INSERT INTO "survey_answers" VALUES(1,'honoring_of_parents_and_elders','2',4);
INSERT INTO "survey_answers" VALUES(1,'preserving_my_public_image','1',4);
INSERT INTO "survey_answers" VALUES(1,'humble','0',4);
INSERT INTO "survey_answers" VALUES(1,'social_power','-1',4);
INSERT INTO "survey_answers" VALUES(1,'social_recognition','-2',4);
INSERT INTO "survey_answers" VALUES(1,'inner_harmony','irrelevant',4);
INSERT INTO "survey_answers" VALUES(1,'successful','2',4);
INSERT INTO "survey_answers" VALUES(1,'social_justice','1',4);
INSERT INTO "survey_answers" VALUES(1,'unity_with_nature','0',4);
INSERT INTO "survey_answers" VALUES(1,'moderate','-1',4);
INSERT INTO "survey_answers" VALUES(2,'protecting_the_environment','1',1);
INSERT INTO "survey_answers" VALUES(2,'capable','1',1);
INSERT INTO "survey_answers" VALUES(2,'inner_harmony','1',1);
INSERT INTO "survey_answers" VALUES(2,'family_security','1',1);
INSERT INTO "survey_answers" VALUES(2,'independent','1',1);
INSERT INTO "survey_answers" VALUES(2,'social_justice','1',1);
INSERT INTO "survey_answers" VALUES(2,'daring','1',1);
INSERT INTO "survey_answers" VALUES(2,'influential','1',1);
INSERT INTO "survey_answers" VALUES(2,'honest','1',1);
INSERT INTO "survey_answers" VALUES(2,'moderate','1',1);
INSERT INTO "survey_answers" VALUES(2,'self_respect','1',1);
INSERT INTO "survey_answers" VALUES(2,'helpful','1',1);
INSERT INTO "survey_answers" VALUES(2,'check_disagree','1',1);
INSERT INTO "survey_answers" VALUES(2,'meaning_in_life','1',1);
INSERT INTO "survey_answers" VALUES(2,'forgiving','1',1);
INSERT INTO "survey_answers" VALUES(2,'intelligent','1',2);
INSERT INTO "survey_answers" VALUES(2,'self_discipline','1',2);
INSERT INTO "survey_answers" VALUES(2,'wisdom','1',2);
INSERT INTO "survey_answers" VALUES(2,'accepting_my_portion_in_life','1',2);
INSERT INTO "survey_answers" VALUES(2,'creativity','1',2);
INSERT INTO "survey_answers" VALUES(2,'healthy','1',2);
INSERT INTO "survey_answers" VALUES(2,'devout','1',2);
INSERT INTO "survey_answers" VALUES(2,'clean','1',2);
INSERT INTO "survey_answers" VALUES(2,'choosing_own_goals','1',2);
INSERT INTO "survey_answers" VALUES(2,'reciprocation_of_favors','1',2);
INSERT INTO "survey_answers" VALUES(2,'respect_for_tradition','1',2);
INSERT INTO "survey_answers" VALUES(2,'an_exciting_life','1',2);
INSERT INTO "survey_answers" VALUES(2,'curious','1',2);
INSERT INTO "survey_answers" VALUES(2,'enjoying_life','1',2);
INSERT INTO "survey_answers" VALUES(2,'obedient','1',2);
INSERT INTO "survey_answers" VALUES(2,'preserving_my_public_image','1',3);
INSERT INTO "survey_answers" VALUES(2,'freedom','1',3);
INSERT INTO "survey_answers" VALUES(2,'politeness','1',3);
INSERT INTO "survey_answers" VALUES(2,'wealth','1',3);
INSERT INTO "survey_answers" VALUES(2,'a_varied_life','1',3);
INSERT INTO "survey_answers" VALUES(2,'social_recognition','1',3);
INSERT INTO "survey_answers" VALUES(2,'mature_love','1',3);
INSERT INTO "survey_answers" VALUES(2,'responsible','1',3);
INSERT INTO "survey_answers" VALUES(2,'humble','1',3);
INSERT INTO "survey_answers" VALUES(2,'detachment','1',3);
INSERT INTO "survey_answers" VALUES(2,'national_security','1',3);
INSERT INTO "survey_answers" VALUES(2,'social_power','1',3);
INSERT INTO "survey_answers" VALUES(2,'ambitious','1',3);
INSERT INTO "survey_answers" VALUES(2,'a_world_of_beauty','1',3);
INSERT INTO "survey_answers" VALUES(2,'sense_of_belonging','1',4);
INSERT INTO "survey_answers" VALUES(2,'unity_with_nature','1',4);
INSERT INTO "survey_answers" VALUES(2,'a_spiritual_life','1',4);
INSERT INTO "survey_answers" VALUES(2,'pleasure','1',4);
INSERT INTO "survey_answers" VALUES(2,'honoring_of_parents_and_elders','1',4);
INSERT INTO "survey_answers" VALUES(2,'successful','1',4);
INSERT INTO "survey_answers" VALUES(2,'check_agree','1',4);
INSERT INTO "survey_answers" VALUES(2,'loyal','1',4);
INSERT INTO "survey_answers" VALUES(2,'equality','1',4);
INSERT INTO "survey_answers" VALUES(2,'social_order','1',4);
INSERT INTO "survey_answers" VALUES(2,'broad_minded','1',4);
INSERT INTO "survey_answers" VALUES(2,'true_friendship','1',4);
INSERT INTO "survey_answers" VALUES(2,'authority','1',4);
INSERT INTO "survey_answers" VALUES(2,'a_world_at_peace','1',4);
INSERT INTO "survey_answers" VALUES(3,'honoring_of_parents_and_elders','2',1);
INSERT INTO "survey_answers" VALUES(3,'a_spiritual_life','1',1);
INSERT INTO "survey_answers" VALUES(3,'responsible','0',1);
INSERT INTO "survey_answers" VALUES(3,'true_friendship','-1',1);
INSERT INTO "survey_answers" VALUES(3,'wisdom','-2',1);
INSERT INTO "survey_answers" VALUES(3,'ambitious','irrelevant',1);
INSERT INTO "survey_answers" VALUES(3,'preserving_my_public_image','2',1);
INSERT INTO "survey_answers" VALUES(3,'check_disagree','-2',1);
INSERT INTO "survey_answers" VALUES(3,'sense_of_belonging','0',1);
INSERT INTO "survey_answers" VALUES(3,'unity_with_nature','-1',1);
INSERT INTO "survey_answers" VALUES(3,'successful','-2',1);
INSERT INTO "survey_answers" VALUES(3,'social_order','irrelevant',1);
INSERT INTO "survey_answers" VALUES(3,'social_recognition','2',1);
INSERT INTO "survey_answers" VALUES(3,'healthy','1',1);
INSERT INTO "survey_answers" VALUES(3,'freedom','0',1);
INSERT INTO "survey_answers" VALUES(3,'obedient','-1',2);
INSERT INTO "survey_answers" VALUES(3,'curious','-2',2);
INSERT INTO "survey_answers" VALUES(3,'social_justice','irrelevant',2);
INSERT INTO "survey_answers" VALUES(3,'protecting_the_environment','2',2);
INSERT INTO "survey_answers" VALUES(3,'intelligent','1',2);
INSERT INTO "survey_answers" VALUES(3,'influential','0',2);
INSERT INTO "survey_answers" VALUES(3,'humble','-1',2);
INSERT INTO "survey_answers" VALUES(3,'family_security','-2',2);
INSERT INTO "survey_answers" VALUES(3,'moderate','irrelevant',2);
INSERT INTO "survey_answers" VALUES(3,'reciprocation_of_favors','2',2);
INSERT INTO "survey_answers" VALUES(3,'detachment','1',2);
INSERT INTO "survey_answers" VALUES(3,'equality','0',2);
INSERT INTO "survey_answers" VALUES(3,'an_exciting_life','-1',2);
INSERT INTO "survey_answers" VALUES(3,'a_world_at_peace','-2',2);
INSERT INTO "survey_answers" VALUES(3,'self_discipline','irrelevant',2);
INSERT INTO "survey_answers" VALUES(3,'daring','2',3);
INSERT INTO "survey_answers" VALUES(3,'forgiving','1',3);
INSERT INTO "survey_answers" VALUES(3,'accepting_my_portion_in_life','0',3);
INSERT INTO "survey_answers" VALUES(3,'mature_love','-1',3);
INSERT INTO "survey_answers" VALUES(3,'meaning_in_life','-2',3);
INSERT INTO "survey_answers" VALUES(3,'enjoying_life','irrelevant',3);
INSERT INTO "survey_answers" VALUES(3,'respect_for_tradition','2',3);
INSERT INTO "survey_answers" VALUES(3,'pleasure','1',3);
INSERT INTO "survey_answers" VALUES(3,'creativity','0',3);
INSERT INTO "survey_answers" VALUES(3,'a_world_of_beauty','-1',3);
INSERT INTO "survey_answers" VALUES(3,'social_power','-2',3);
INSERT INTO "survey_answers" VALUES(3,'national_security','irrelevant',3);
INSERT INTO "survey_answers" VALUES(3,'independent','2',3);
INSERT INTO "survey_answers" VALUES(3,'check_agree','2',3);
INSERT INTO "survey_answers" VALUES(3,'politeness','0',4);
INSERT INTO "survey_answers" VALUES(3,'devout','-1',4);
INSERT INTO "survey_answers" VALUES(3,'authority','-2',4);
INSERT INTO "survey_answers" VALUES(3,'a_varied_life','irrelevant',4);
INSERT INTO "survey_answers" VALUES(3,'clean','2',4);
INSERT INTO "survey_answers" VALUES(3,'wealth','1',4);
INSERT INTO "survey_answers" VALUES(3,'helpful','0',4);
INSERT INTO "survey_answers" VALUES(3,'self_respect','-1',4);
INSERT INTO "survey_answers" VALUES(3,'capable','-2',4);
INSERT INTO "survey_answers" VALUES(3,'inner_harmony','irrelevant',4);
INSERT INTO "survey_answers" VALUES(3,'honest','2',4);
INSERT INTO "survey_answers" VALUES(3,'broad_minded','1',4);
INSERT INTO "survey_answers" VALUES(3,'choosing_own_goals','0',4);
INSERT INTO "survey_answers" VALUES(3,'loyal','-1',4);
CREATE TABLE survey_participants (
	id INTEGER NOT NULL, 
	"key" VARCHAR(64) NOT NULL, 
	prolific_pid VARCHAR(64), 
	study_id VARCHAR(64) NOT NULL, 
	session_id VARCHAR(64), 
	link_scenario VARCHAR(64), 
	scenario VARCHAR(64), 
	country VARCHAR(64), 
	age_band VARCHAR(32), 
	gender VARCHAR(80), 
	step VARCHAR(16) NOT NULL, 
	form_page INTEGER NOT NULL, 
	seed INTEGER NOT NULL, 
	item_order TEXT NOT NULL, 
	created_at DATETIME NOT NULL, 
	assigned_at DATETIME, 
	form_started_at DATETIME, 
	form_finished_at DATETIME, 
	completed_at DATETIME, 
	form_seconds FLOAT, 
	attention_failed INTEGER, 
	straightlined BOOLEAN, 
	too_fast BOOLEAN, 
	excluded BOOLEAN NOT NULL, 
	exclusion VARCHAR(200), 
	completion_code VARCHAR(64), items_per_page INTEGER, language VARCHAR(16), 
	PRIMARY KEY (id), 
	CONSTRAINT uq_survey_prolific_once UNIQUE (study_id, prolific_pid), 
	UNIQUE ("key")
);
INSERT INTO "survey_participants" VALUES(1,'r8EYVj4JgptpF1i5wtsCbSjUuE3cr3q0hvn6mq-GLQ0',NULL,'',NULL,NULL,'education','india','25-34',NULL,'done',4,810723401,'meaning_in_life wealth self_respect equality reciprocation_of_favors independent capable sense_of_belonging authority a_spiritual_life check_disagree curious respect_for_tradition mature_love honest forgiving clean self_discipline national_security freedom enjoying_life a_varied_life intelligent helpful choosing_own_goals obedient creativity wisdom ambitious influential social_order accepting_my_portion_in_life daring check_agree protecting_the_environment broad_minded a_world_of_beauty healthy family_security detachment loyal pleasure devout an_exciting_life responsible true_friendship a_world_at_peace politeness honoring_of_parents_and_elders preserving_my_public_image humble social_power social_recognition inner_harmony successful social_justice unity_with_nature moderate','2026-12-01 11:45:42.986404','2026-12-01 11:45:43.020734','2026-12-01 11:45:43.026783','2026-12-01 11:45:43.081159','2026-12-01 11:45:43.086394',0.054376,0,0,0,0,NULL,'VC74834AEC61',15,'en');
INSERT INTO "survey_participants" VALUES(2,'Uc29H8nqkDthpyoEVus7UK206LSstckUW-fIH4zyTX4',NULL,'',NULL,NULL,'collaborative_writing','germany','25-34',NULL,'done',4,1447930436,'protecting_the_environment capable inner_harmony family_security independent social_justice daring influential honest moderate self_respect helpful check_disagree meaning_in_life forgiving intelligent self_discipline wisdom accepting_my_portion_in_life creativity healthy devout clean choosing_own_goals reciprocation_of_favors respect_for_tradition an_exciting_life curious enjoying_life obedient preserving_my_public_image freedom politeness wealth a_varied_life social_recognition mature_love responsible humble detachment national_security social_power ambitious a_world_of_beauty sense_of_belonging unity_with_nature a_spiritual_life pleasure honoring_of_parents_and_elders successful check_agree loyal equality social_order broad_minded true_friendship authority a_world_at_peace','2026-12-01 11:45:43.122993','2026-12-01 11:45:43.145969','2026-12-01 11:45:43.151546','2026-12-01 11:45:43.184804','2026-12-01 11:45:43.191713',0.033258,2,1,0,1,'attention','VC0BF74BE843',15,'en');
INSERT INTO "survey_participants" VALUES(3,'eF8GTntcVjAOdDzP6bHMVJzUDCm6SRqse8J4kPGfZ0Y',NULL,'',NULL,'education','education','india','25-34',NULL,'done',4,1586646320,'honoring_of_parents_and_elders a_spiritual_life responsible true_friendship wisdom ambitious preserving_my_public_image check_disagree sense_of_belonging unity_with_nature successful social_order social_recognition healthy freedom obedient curious social_justice protecting_the_environment intelligent influential humble family_security moderate reciprocation_of_favors detachment equality an_exciting_life a_world_at_peace self_discipline daring forgiving accepting_my_portion_in_life mature_love meaning_in_life enjoying_life respect_for_tradition pleasure creativity a_world_of_beauty social_power national_security independent check_agree politeness devout authority a_varied_life clean wealth helpful self_respect capable inner_harmony honest broad_minded choosing_own_goals loyal','2026-12-01 11:45:43.224677','2026-12-01 11:45:43.237938','2026-12-01 11:45:43.240907','2026-12-01 11:45:43.270929','2026-12-01 11:45:43.274721',0.030022,0,0,0,0,NULL,'VC77C049321B',15,'en');
INSERT INTO "survey_participants" VALUES(4,'vjAvfQXFiFmrzvSmoQ5Ic-azCfU38_eN8zDOrUSrlcY',NULL,'',NULL,NULL,NULL,NULL,NULL,NULL,'demographics',0,432303538,'social_recognition an_exciting_life family_security freedom wealth sense_of_belonging enjoying_life forgiving capable choosing_own_goals mature_love accepting_my_portion_in_life a_world_of_beauty clean devout authority honest true_friendship a_varied_life wisdom check_disagree unity_with_nature self_respect ambitious independent healthy social_power politeness social_order pleasure loyal respect_for_tradition social_justice inner_harmony self_discipline national_security check_agree helpful a_spiritual_life influential detachment a_world_at_peace moderate preserving_my_public_image meaning_in_life humble reciprocation_of_favors honoring_of_parents_and_elders obedient protecting_the_environment intelligent broad_minded daring responsible successful equality creativity curious','2026-12-01 11:45:43.319643',NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,0,NULL,NULL,15,'en');
CREATE TABLE survey_secrets (
	name VARCHAR(64) NOT NULL, 
	value VARCHAR(128) NOT NULL, 
	PRIMARY KEY (name)
);
INSERT INTO "survey_secrets" VALUES('csrf','e51a1f3d74a49f637dc81f455f869c505c85fc43ad08a3fc77e6a693d573014a');
CREATE TABLE survey_slots (
	scenario VARCHAR(64) NOT NULL, 
	country VARCHAR(64) NOT NULL, 
	slot INTEGER NOT NULL, 
	participant_id INTEGER NOT NULL, 
	assigned_at DATETIME NOT NULL, 
	PRIMARY KEY (scenario, country, slot), 
	UNIQUE (participant_id), 
	FOREIGN KEY(participant_id) REFERENCES survey_participants (id) ON DELETE CASCADE
);
INSERT INTO "survey_slots" VALUES('education','india',0,1,'2026-12-01 11:45:43.020734');
INSERT INTO "survey_slots" VALUES('collaborative_writing','germany',0,2,'2026-12-01 11:45:43.145969');
INSERT INTO "survey_slots" VALUES('education','india',1,3,'2026-12-01 11:45:43.237938');
CREATE TABLE survey_studies (
	study_id VARCHAR(64) NOT NULL, 
	instrument VARCHAR(64) NOT NULL, 
	items_per_page INTEGER NOT NULL, 
	settings TEXT NOT NULL, 
	first_served_at DATETIME NOT NULL, 
	last_served_at DATETIME NOT NULL, 
	PRIMARY KEY (study_id)
);
INSERT INTO "survey_studies" VALUES('','81378313e98a1579565a1167da9486b78446e89c3cab2c30cf1083cfd78cb114',15,'{"completion_code": null, "completion_url": null, "content": {"age_bands": ["18-24", "25-34", "35-44", "45-54", "55-64", "65 or older"], "attention_checks": [{"end": "opposite", "expect": null, "id": "check_disagree", "statement": "To show that you are reading carefully, please choose \"{label}\" here."}, {"end": "agree", "expect": null, "id": "check_agree", "statement": "This is a reading check. Please choose \"{label}\" for this statement."}], "consent": ["We are researchers studying which human values people want AI systems to uphold when they help people in everyday situations. You will read a short scenario in which an AI system assists people, then say how far you agree that the AI system should uphold each of {item_count} {item_noun}s in that scenario, and finally answer three short questions in your own words.", "It takes about 15 minutes. Taking part is voluntary: you may stop at any time by closing this page. We record your answers, your country of residence, your age band and, if you give it, your gender. We do not ask for your name. Your answers are stored securely and published only as anonymous, aggregate results or as anonymous rows in a research data set.", "Two statements in the list check that you are reading carefully; please answer them as they ask."], "consent_label": "I have read the information above, I am 18 or older, and I agree to take part.", "gender_hint": "Optional. Describe your gender in your own words, or leave this empty.", "open_questions": [{"hint": "Required if you marked any {item_noun} as irrelevant; otherwise optional.", "id": "irrelevant_why", "label": "Why are some of the {item_noun}s irrelevant in this scenario?", "max_chars": 4000, "required": "if_irrelevant"}, {"hint": "", "id": "ai_should_uphold", "label": "Which {item_noun}s should an AI system uphold in this scenario, and why?", "max_chars": 4000, "required": "always"}, {"hint": "", "id": "conflict", "label": "What should happen when an AI system''s decision in this scenario conflicts with your values?", "max_chars": 4000, "required": "always"}], "task": "Please read the scenario carefully. On the next pages, say how far you agree that the AI system in this scenario should uphold each {item_noun}. Choose \"{irrelevant}\" when the {item_noun} has nothing to do with this scenario.", "thanks": "Thank you for taking part. Your answers are saved. Please keep the completion code below.", "title": "Values for AI systems", "ui": {"about_heading": "About you", "admin_cells_heading": "Participants per country and scenario", "admin_cells_hint": "Each cell: finished, of whom excluded in brackets, then \"+ n\" in progress.", "admin_downloads_heading": "Downloads", "admin_excluded_heading": "Excluded from analysis", "admin_heading": "Survey admin", "admin_summary_one": "{total} participant in all, {done} finished, {turned_away} turned away by full quotas. Quota: {quota} per country per scenario.", "admin_summary_other": "{total} participants in all, {done} finished, {turned_away} turned away by full quotas. Quota: {quota} per country per scenario.", "admin_texts_heading": "Latest open answers", "admin_token": "Admin token", "age_label": "Age", "back": "Back", "check_answers_one": "Please check {count} answer", "check_answers_other": "Please check {count} answers", "choose_age": "Choose an age band\u2026", "choose_country": "Choose a country\u2026", "column_country": "Country", "column_prolific_id": "Prolific ID", "column_respondent": "Respondent", "column_scenario": "Scenario", "column_why": "Why", "completion_code": "Your completion code:", "consent_heading": "Taking part in this study", "consent_note": "If you do not want to take part, simply close this page (on Prolific, return the study).", "continue": "Continue", "continue_to_values": "Continue to the {item_noun}s", "country_label": "Country of residence", "country_other": "Other", "done_heading": "Thank you", "download_answers": "Answers, tidy CSV (excluded participants left out)", "download_answers_all": "Answers, tidy CSV, everyone who finished", "download_participants": "Participants: Prolific ids, flags, timings, open answers", "duplicate_elsewhere": "If you started in another browser or on another device, please carry on there. If you think this is a mistake, message the researchers on Prolific.", "duplicate_heading": "You have already taken part", "duplicate_once": "This Prolific ID has already started or completed this study, and each person may take part only once, so no new answers are recorded.", "error_age": "Choose your age band from the list.", "error_answer_question": "Please answer this question.", "error_answers_kept": "(your saved answers are kept).", "error_choose_one": "Choose one answer for this statement.", "error_consent": "To take part, tick the box to say that you agree.", "error_country": "Choose your country of residence from the list (or ''{other}'').", "error_go_to_start": "Go to the start of the survey", "error_not_an_option": "That answer is not one of the options; choose one of them.", "error_too_long": "Please keep this to {max} characters or fewer.", "finish": "Finish", "full_heading": "Thank you for your interest", "full_return": "If you came from Prolific, please return the study there: you will not be penalised.", "full_text": "This study already has all the participants it needs from your country for now, so we cannot take your answers. We are sorry for the trouble.", "gender_label": "Gender", "illustration_alt": "Illustration of the scenario: {user}, using an AI system for {purpose}.", "language_picker": "Language", "log_in": "Log in", "log_out": "Log out", "none_so_far": "None so far.", "optional": "(optional)", "page_of": "Page {page} of {pages}", "progress": "Progress", "reminder": "Reminder: the scenario ({scenario})", "return_to_prolific": "Return to Prolific to finish", "save_and_continue": "Save and continue", "scenario_heading": "The scenario: {scenario}", "skip_link": "Skip to the main content", "start_survey": "Start the survey", "step_about": "About you", "step_consent": "Consent", "step_done": "Done", "step_scenario": "Scenario", "step_values": "Statements", "step_views": "Your views", "title_about": "About you", "title_admin": "Admin", "title_consent": "Taking part", "title_done": "Thank you", "title_duplicate": "Already taken part", "title_full": "Thank you for your interest", "title_scenario": "The scenario", "title_values": "Statements, page {page} of {pages}", "title_views": "Your views", "values_heading": "Which {item_noun}s should the AI system uphold?", "values_instructions": "For each statement, say how far you agree that the AI system in this scenario should uphold the {item_noun}. Choose \"{irrelevant}\" when the {item_noun} has nothing to do with this scenario.", "views_about": "About the scenario: {scenario}.", "views_heading": "Your views in your own words"}}, "country_axis": "country", "db_wait_seconds": 2.0, "exclude_for": ["attention", "country_other"], "first_hold_minutes": 15.0, "hold_minutes": 120.0, "holds_per_address": 10, "holds_per_minute": 60, "items_per_page": 15, "max_body_bytes": 65536, "min_form_seconds": 0.0, "quota": 2, "redirect_on_complete": false, "require_prolific": false, "scenario_axis": "scenario", "scenarios": [], "secure_cookies": false, "straightline_share": 0.9, "study_id": "", "wording": null}','2026-12-01 11:45:42.872338','2026-12-01 11:45:43.278416');
CREATE TABLE survey_texts (
	participant_id INTEGER NOT NULL, 
	question VARCHAR(64) NOT NULL, 
	text TEXT NOT NULL, 
	PRIMARY KEY (participant_id, question), 
	FOREIGN KEY(participant_id) REFERENCES survey_participants (id) ON DELETE CASCADE
);
INSERT INTO "survey_texts" VALUES(1,'irrelevant_why','Some do not apply.');
INSERT INTO "survey_texts" VALUES(1,'ai_should_uphold','Honesty.');
INSERT INTO "survey_texts" VALUES(1,'conflict','A person decides.');
INSERT INTO "survey_texts" VALUES(2,'irrelevant_why','Some do not apply.');
INSERT INTO "survey_texts" VALUES(2,'ai_should_uphold','Honesty.');
INSERT INTO "survey_texts" VALUES(2,'conflict','A person decides.');
INSERT INTO "survey_texts" VALUES(3,'irrelevant_why','Some do not apply.');
INSERT INTO "survey_texts" VALUES(3,'ai_should_uphold','Honesty.');
INSERT INTO "survey_texts" VALUES(3,'conflict','A person decides.');
CREATE INDEX ix_survey_participants_cell ON survey_participants (scenario, country);
CREATE INDEX ix_prompts_cache_key ON prompts (cache_key);
COMMIT;
