use super::*;
use crate::domain::permissions::Allowed;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn load(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.toml");
    std::fs::write(&empty, "").unwrap();
    Settings::load(Sources {
        file: Some(&empty),
        env: env(pairs),
    })
}

#[test]
fn operations_keys_default_and_parse() {
    let s = load(&[]).unwrap();
    assert_eq!(s.admin_listen, None);
    assert_eq!(s.shutdown_grace, Duration::from_secs(20));
    assert_eq!(s.log.format, LogFormat::Text);
    let s = load(&[
        ("WARROOM_LOG", "debug"),
        ("WARROOM_LOG__FORMAT", "json"),
        ("WARROOM_ADMIN_LISTEN", "127.0.0.1:9000"),
        ("WARROOM_SHUTDOWN_GRACE", "5s"),
    ])
    .unwrap();
    assert_eq!(
        s.log.format,
        LogFormat::Json,
        "WARROOM_LOG stays the filter"
    );
    assert_eq!(s.admin_listen.unwrap().to_string(), "127.0.0.1:9000");
    assert_eq!(s.shutdown_grace, Duration::from_secs(5));
    let e = load(&[("WARROOM_LOG__FORMAT", "xml")]).unwrap_err();
    assert!(e.to_string().contains("xml"), "{e}");
    let e = load(&[("WARROOM_ADMIN_LISTEN", "localhost")]).unwrap_err();
    assert!(e.to_string().contains("admin_listen"), "{e}");
    let e = load(&[
        ("WARROOM_ADMIN_LISTEN", "0.0.0.0:3000"),
        ("WARROOM_LISTEN", "0.0.0.0:3000"),
    ])
    .unwrap_err();
    assert!(e.to_string().contains("admin_listen"), "{e}");
    let e = load(&[("WARROOM_SHUTDOWN_GRACE", "1h")]).unwrap_err();
    assert!(e.to_string().contains("shutdown_grace"), "{e}");
}

#[test]
fn defaults_apply() {
    let s = load(&[]).unwrap();
    assert_eq!(s.database_url, "sqlite://warroom.db");
    assert_eq!(s.listen.to_string(), "0.0.0.0:3000");
    assert_eq!(s.slack_api_url, "https://slack.com/api");
    assert_eq!(s.reminders, Reminders::default());
    assert_eq!(s.timezone, chrono_tz::UTC);
    assert!(s.slack.is_none());
    assert!(s.require_slack().is_err());
    assert_eq!(s.roles.names().len(), 6);
    assert_eq!(
        s.timeline.tag_kind("pushpin"),
        Some(crate::domain::EntryKind::Message)
    );
    assert_eq!(
        s.timeline.tag_kind("boom"),
        Some(crate::domain::EntryKind::ImpactStarted)
    );
    assert_eq!(
        s.timeline.tag_kind("white_check_mark::skin-tone-2"),
        Some(crate::domain::EntryKind::Resolved)
    );
    assert_eq!(s.timeline.tag_kind("tada"), None);
    assert_eq!(s.permissions, Permissions::default());
}

#[test]
fn permissions_from_file_and_environment() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.toml");
    std::fs::write(
        &path,
        "[permissions]\nclose = [\"anyone\"]\nseverity = [\"Incident Lead\", \"Technical Lead\"]\n\n[timeline]\ntaggers = [\"anyone\"]\n",
    )
    .unwrap();
    let from = |pairs: &[(&str, &str)]| {
        Settings::load(Sources {
            file: Some(&path),
            env: env(pairs),
        })
        .unwrap()
        .permissions
    };
    let p = from(&[]);
    assert_eq!(p.close, Allowed::Anyone);
    assert_eq!(
        p.severity,
        Allowed::roles(&["Incident Lead", "Technical Lead"])
    );
    assert_eq!(p.assign, Allowed::roles(&["Incident Lead"]), "default kept");
    assert_eq!(p.tag, Allowed::Anyone);
    let p = from(&[
        ("WARROOM_PERMISSIONS__CLOSE", "Incident Lead"),
        (
            "WARROOM_PERMISSIONS__ASSIGN",
            "Incident Lead, Communication Lead",
        ),
        ("WARROOM_PERMISSIONS__SEVERITY", "anyone"),
    ]);
    assert_eq!(p.close, Allowed::roles(&["Incident Lead"]), "env wins");
    assert_eq!(
        p.assign,
        Allowed::roles(&["Incident Lead", "Communication Lead"])
    );
    assert_eq!(p.severity, Allowed::Anyone);
}

#[test]
fn environment_overrides_with_double_underscores() {
    let s = load(&[
        ("WARROOM_REMINDERS__COMMS_NUDGE_AFTER", "90s"),
        ("WARROOM_REMINDERS__COMMS_DUE_AFTER", "1h"),
        ("WARROOM_SLACK__API_URL", "http://127.0.0.1:9/api/"),
        ("WARROOM_TIMEZONE", "Europe/Paris"),
        ("WARROOM_ANNOUNCE_CHANNEL", "C0INCIDENTS"),
        ("WARROOM_TEST_POSTGRES_URL", "postgres://ignored"),
        ("SLACK_BOT_TOKEN", "xoxb-1"),
        ("SLACK_SIGNING_SECRET", "s3cret"),
    ])
    .unwrap();
    assert_eq!(s.reminders.comms_nudge_after, Duration::from_secs(90));
    assert_eq!(s.slack_api_url, "http://127.0.0.1:9/api");
    assert_eq!(s.timezone, chrono_tz::Europe::Paris);
    assert_eq!(
        s.announce_channel.as_ref().map(|c| c.as_str()),
        Some("C0INCIDENTS")
    );
    assert!(s.require_slack().is_ok());
    assert!(!format!("{s:?}").contains("s3cret"));
}

#[test]
fn an_app_token_selects_socket_mode_without_a_signing_secret() {
    let s = load(&[
        ("SLACK_BOT_TOKEN", "xoxb-1"),
        ("SLACK_APP_TOKEN", "xapp-1-A1-s3cret"),
    ])
    .unwrap();
    assert!(s.socket_mode);
    assert_eq!(
        s.socket_connections, 2,
        "Slack's advice: two, for no gap during refreshes"
    );
    let secrets = s.require_slack().unwrap();
    assert!(secrets.app_token.is_some() && secrets.signing_secret.is_none());
    assert!(!format!("{s:?}").contains("s3cret"));
    let s = load(&[
        ("SLACK_BOT_TOKEN", "xoxb-1"),
        ("SLACK_APP_TOKEN", "xapp-1"),
        ("WARROOM_SLACK__SOCKET_CONNECTIONS", "10"),
    ])
    .unwrap();
    assert_eq!(s.socket_connections, 10);
    let s = load(&[("SLACK_BOT_TOKEN", "xoxb-1"), ("SLACK_SIGNING_SECRET", "x")]).unwrap();
    assert!(!s.socket_mode);
    assert!(s.require_slack().unwrap().signing_secret.is_some());
    // Neither a signing secret nor an app token: serve cannot start.
    let m = load(&[("SLACK_BOT_TOKEN", "xoxb-1")])
        .unwrap()
        .require_slack()
        .err()
        .unwrap()
        .to_string();
    assert!(
        m.contains("SLACK_APP_TOKEN") && m.contains("SLACK_SIGNING_SECRET"),
        "{m}"
    );
    let msg = |pairs: &[(&str, &str)]| load(pairs).err().unwrap().to_string();
    assert!(msg(&[("SLACK_APP_TOKEN", "xoxb-1")]).contains("SLACK_APP_TOKEN"));
    for n in ["0", "11"] {
        let m = msg(&[("WARROOM_SLACK__SOCKET_CONNECTIONS", n)]);
        assert!(m.contains("slack.socket_connections"), "{m}");
    }
}

#[test]
fn lists_from_the_environment() {
    let s = load(&[("WARROOM_TIMELINE__TAGGERS", "Scribe, Technical Lead")]).unwrap();
    assert_eq!(s.timeline.taggers, ["Scribe", "Technical Lead"]);
    let s = load(&[("WARROOM_TIMELINE__TAGGERS", "Scribe")]).unwrap();
    assert_eq!(s.timeline.taggers, ["Scribe"]);
    // Other variables stay text, whatever they look like.
    let s = load(&[("WARROOM_TIMELINE__TAG_EMOJI", "infinity")]).unwrap();
    assert_eq!(s.timeline.tag_emoji, "infinity");
}

#[test]
fn file_then_environment() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.toml");
    std::fs::write(
        &path,
        "listen = \"127.0.0.1:4000\"\n[reminders]\ncomms_nudge_after = \"20m\"\n\n[[severities]]\nname = \"P1\"\ndescription = \"all down\"\ncomms_nudge_after = \"15m\"\n",
    )
    .unwrap();
    let s = Settings::load(Sources {
        file: Some(&path),
        env: env(&[("WARROOM_LISTEN", "127.0.0.1:5000")]),
    })
    .unwrap();
    assert_eq!(s.listen.port(), 5000);
    assert_eq!(s.reminders.comms_nudge_after, Duration::from_secs(1200));
    let p1 = s.severities.resolve("p1").unwrap();
    assert_eq!(p1.comms_nudge_after, Some(Duration::from_secs(900)));
}

#[test]
fn bad_input_names_the_key() {
    let msg = |pairs: &[(&str, &str)]| load(pairs).err().unwrap().to_string();

    assert!(msg(&[("WARROOM_REMINDERS__COMMS_NUDGE_AFTER", "soon")]).contains("comms_nudge_after"));
    assert!(msg(&[("WARROOM_LISTEN", "nowhere")]).contains("listen"));
    assert!(msg(&[("WARROOM_TIMEZONE", "Mars/Olympus")]).contains("timezone"));
    assert!(msg(&[("WARROOM_BOGUS", "1")]).contains("bogus"));
    assert!(msg(&[("WARROOM_SLACK__NOPE", "1")]).contains("nope"));
    assert!(msg(&[("WARROOM_ANNOUNCE_CHANNEL", "#incidents")]).contains("announce_channel"));
    assert!(
        msg(&[("SLACK_BOT_TOKEN", "xoxp-1"), ("SLACK_SIGNING_SECRET", "x")])
            .contains("SLACK_BOT_TOKEN")
    );
    assert!(msg(&[("WARROOM_TIMELINE__TAGGERS", "Janitor")]).contains("taggers"));
    let m = msg(&[("WARROOM_PERMISSIONS__CLOSE", "Incident Lead,Janitor")]);
    assert!(
        m.contains("`permissions.close`") && m.contains("`Janitor`"),
        "{m}"
    );
    let m = msg(&[("WARROOM_PERMISSIONS__ASSIGN", "anyone,Scribe")]);
    assert!(
        m.contains("`permissions.assign`") && m.contains("anyone"),
        "{m}"
    );
    let m = msg(&[("WARROOM_PERMISSIONS__SEVERITY", "")]);
    assert!(m.contains("`permissions.severity`"), "{m}");
    assert!(msg(&[("WARROOM_PERMISSIONS__TAG", "anyone")]).contains("tag"));
    assert!(
        msg(&[("WARROOM_POSTMORTEM__ANYONE_MAY_CLOSE", "true")]).contains("anyone_may_close"),
        "the old key is gone: permissions.close replaces it"
    );
    assert!(
        msg(&[("WARROOM_REMINDERS__SCRIBE_QUIET_AFTER", "1000000y")])
            .contains("scribe_quiet_after")
    );
    assert!(msg(&[("WARROOM_TIMELINE__TYPED_TAGS__DECISION", "pushpin")]).contains("two tags"));
    assert!(msg(&[("WARROOM_TIMELINE__CONFIRM_EMOJI", ":eyes:")]).contains("confirm_emoji"));
    let missing = Settings::load(Sources {
        file: Some(Path::new("/nonexistent/warroom.toml")),
        env: HashMap::new(),
    })
    .err()
    .unwrap()
    .to_string();
    assert!(missing.contains("/nonexistent/warroom.toml"));
    for m in [
        msg(&[("WARROOM_BOGUS", "1")]),
        msg(&[("WARROOM_LISTEN", "x")]),
    ] {
        assert!(!m.contains('\n'), "one line: {m}");
    }
    assert!(
        msg(&[("WARROOM_PRIVATE_INCIDENTS__ANNOUNCE", "sometimes")]).contains("announce"),
        "an unknown announce mode"
    );
    assert!(msg(&[("WARROOM_PERMISSIONS__TAKE_OVER", "Janitor")]).contains("take_over"));
}

fn from_file(toml: &str, pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.toml");
    std::fs::write(&path, toml).unwrap();
    Settings::load(Sources {
        file: Some(&path),
        env: env(pairs),
    })
}

#[test]
fn an_empty_secret_in_the_file_is_refused_like_an_empty_variable() {
    let by_variable = load(&[("SLACK_BOT_TOKEN", "xoxb-1"), ("SLACK_SIGNING_SECRET", "")]).unwrap();
    assert!(by_variable.require_slack().is_err());
    for toml in [
        "[slack]\nbot_token = \"xoxb-1\"\nsigning_secret = \"\"\n",
        "[slack]\nbot_token = \"xoxb-1\"\nsigning_secret = \"  \"\n",
        "[slack]\nbot_token = \"\"\nsigning_secret = \"s\"\n",
    ] {
        let s = from_file(toml, &[]).unwrap();
        let refused = s.require_slack().err().unwrap().to_string();
        assert!(refused.contains("SLACK_SIGNING_SECRET"), "{refused}");
    }
    let s = from_file(
        "[slack]\nbot_token = \"xoxb-1\"\nsigning_secret = \"s\"\n",
        &[],
    )
    .unwrap();
    assert!(s.require_slack().is_ok());
}

#[test]
fn private_incident_keys() {
    let s = load(&[]).unwrap();
    assert!(s.incidents.security_private);
    assert_eq!(s.private_incidents.announce, PrivateAnnounce::Redacted);
    assert_eq!(s.permissions.take_over, Allowed::Anyone);
    let s = load(&[
        ("WARROOM_INCIDENTS__SECURITY_PRIVATE", "false"),
        ("WARROOM_PRIVATE_INCIDENTS__ANNOUNCE", "none"),
        ("WARROOM_PERMISSIONS__TAKE_OVER", "Incident Lead,Scribe"),
    ])
    .unwrap();
    assert!(!s.incidents.security_private);
    assert_eq!(s.private_incidents.announce, PrivateAnnounce::None);
    assert_eq!(
        s.permissions.take_over,
        Allowed::roles(&["Incident Lead", "Scribe"])
    );
    let s = from_file(
        "[private_incidents]\nannounce = \"full\"\n[incidents]\nsecurity_private = false\n[permissions]\ntake_over = [\"Incident Lead\"]\n",
        &[],
    )
    .unwrap();
    assert_eq!(s.private_incidents.announce, PrivateAnnounce::Full);
    assert!(!s.incidents.security_private);
    assert_eq!(s.permissions.take_over, Allowed::roles(&["Incident Lead"]));
}

#[test]
fn severity_matrix_from_file_is_checked_at_start_up() {
    let s = load(&[]).unwrap();
    assert_eq!(s.severity_matrix.map(|m| m.impacts().len()), Some(3));
    let s = from_file(
        "[severity_matrix]\nimpacts = [\"Everyone\", \"Few\"]\nurgencies = [\"Now\"]\n[[severity_matrix.rules]]\nimpact = \"Everyone\"\nurgency = \"Now\"\nseverity = \"sev1\"\n[[severity_matrix.rules]]\nimpact = \"Few\"\nurgency = \"Now\"\nseverity = \"SEV3\"\n",
        &[],
    )
    .unwrap();
    let m = s.severity_matrix.unwrap();
    let a = m.assess("Few", "Now").unwrap();
    assert_eq!(m.suggest(&a).map(|l| l.as_str()), Some("SEV3"));
    for (file, says) in [
        (
            "[severity_matrix]\nimpacts = [\"Everyone\"]\nurgencies = [\"Now\"]\nrules = [{ impact = \"Everyone\", urgency = \"Now\", severity = \"SEV9\" }]\n",
            "SEV9",
        ),
        (
            "[severity_matrix]\nimpacts = [\"Everyone\"]\nurgencies = [\"Now\"]\nrules = [{ impact = \"Nobody\", urgency = \"Now\", severity = \"SEV1\" }]\n",
            "Nobody",
        ),
        (
            "[severity_matrix]\nimpacts = [\"Everyone\"]\nurgencies = [\"Now\"]\nrules = [{ impact = \"Everyone\", urgency = \"Later\", severity = \"SEV1\" }]\n",
            "Later",
        ),
        (
            "[severity_matrix]\nimpacts = [\"Everyone\"]\nurgencies = [\"Now\", \"Later\"]\nrules = [{ impact = \"Everyone\", urgency = \"Now\", severity = \"SEV1\" }]\n",
            "no rule for impact `Everyone` and urgency `Later`",
        ),
    ] {
        let e = from_file(file, &[]).unwrap_err().to_string();
        assert!(e.contains("`severity_matrix`"), "{e}");
        assert!(e.contains(says), "{e}");
    }
    // Own levels and no matrix: no questions rather than a broken default.
    let s = from_file(
        "[[severities]]\nname = \"P1\"\ndescription = \"all down\"\n",
        &[],
    )
    .unwrap();
    assert!(s.severity_matrix.is_none());
}

#[test]
fn the_followup_digest_is_monday_morning_unless_set() {
    use crate::domain::followups::DigestTime;
    assert_eq!(
        load(&[]).unwrap().followups.digest,
        DigestTime::parse("Monday 09:00").unwrap()
    );
    let s = load(&[("WARROOM_FOLLOWUPS__DIGEST", "Friday 16:30")]).unwrap();
    assert_eq!(
        s.followups.digest.map(|d| d.to_string()).as_deref(),
        Some("Fri 16:30")
    );
    assert_eq!(
        load(&[("WARROOM_FOLLOWUPS__DIGEST", "off")])
            .unwrap()
            .followups
            .digest,
        None
    );
    let s = from_file("[followups]\ndigest = \"\"\n", &[]).unwrap();
    assert_eq!(s.followups.digest, None);
    let e = load(&[("WARROOM_FOLLOWUPS__DIGEST", "Mondays at nine")])
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("`followups.digest`") && e.contains("Monday 09:00"),
        "{e}"
    );
}

#[test]
fn bridge_template_from_file_or_environment() {
    assert!(load(&[]).unwrap().bridge.is_none());
    let s = load(&[(
        "WARROOM_BRIDGE__URL_TEMPLATE",
        "https://meet.example.com/inc-{number}",
    )])
    .unwrap();
    assert_eq!(
        s.bridge
            .map(|b| b.url(crate::domain::IncidentNumber::new(4)))
            .as_deref(),
        Some("https://meet.example.com/inc-4")
    );
    let s = from_file(
        "[bridge]\nurl_template = \"https://zoom.example.com/j/1\"\n",
        &[],
    )
    .unwrap();
    assert_eq!(
        s.bridge
            .map(|b| b.url(crate::domain::IncidentNumber::new(4)))
            .as_deref(),
        Some("https://zoom.example.com/j/1")
    );
    let e = load(&[("WARROOM_BRIDGE__URL_TEMPLATE", "meet.example.com")])
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("`bridge.url_template`"), "{e}");
}

#[test]
fn role_tasks_from_the_file_with_defaults_for_the_rest() {
    let s = from_file(
        r#"
[[roles]]
name = "Incident Lead"
tasks = { start = ["Open the bridge"], during = ["Keep order"] }

[[roles]]
name = "Scribe"
[roles.tasks]
start = ["Note the roles"]
cadence = { every = "10m", tasks = ["Summarise"] }

[[roles]]
name = "Tester"
multiple = true
"#,
        &[],
    )
    .unwrap();
    let lead = s
        .roles
        .get(&crate::domain::RoleName::new("Incident Lead"))
        .unwrap()
        .tasks();
    assert_eq!(lead.start, ["Open the bridge"]);
    let scribe = s
        .roles
        .get(&crate::domain::RoleName::new("Scribe"))
        .unwrap()
        .tasks();
    assert_eq!(
        scribe.cadence.map(|c| c.every),
        Some(Duration::from_secs(600))
    );
    // No `tasks`: the defaults for its name.
    let tester = s
        .roles
        .get(&crate::domain::RoleName::new("Tester"))
        .unwrap()
        .tasks();
    assert_eq!(tester, crate::domain::roles::default_tasks("Tester"));
    let e = from_file(
        "[[roles]]\nname = \"Incident Lead\"\ntasks = { cadence = { every = \"5s\", tasks = [\"x\"] } }\n",
        &[],
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("`roles.Incident Lead.tasks`"), "{e}");
}

const ALERTS: &str = r#"
announce_channel = "C0INCIDENTS"

[alerts]
max_declares_per_hour = 3
notify = "<!subteam^S0ONCALL>"

[[alerts.sources]]
name = "prod-am"
kind = "alertmanager"
token = "from-the-file"

[[alerts.sources]]
name = "pd"
kind = "pagerduty"

[[alerts.routes]]
matchers = ['severity="critical"', 'team=~"pay.*"']
action = "declare"
severity_label = "severity"
severity_map = { critical = "sev1", warning = "SEV3" }
title = "{{ labels.alertname }} on {{ labels.service }}"

[[alerts.routes]]
matchers = ['env="staging"']
action = "ignore"
"#;

#[test]
fn alert_sources_and_routes_load_with_secrets_from_the_environment() {
    let s = from_file(
        ALERTS,
        &[
            ("WARROOM_ALERTS__SOURCES__PD__SECRET", "pd-signing-secret"),
            (
                "WARROOM_ALERTS__SOURCES__PROD_AM__TOKEN",
                "from-the-environment",
            ),
        ],
    )
    .unwrap();
    use secrecy::ExposeSecret;
    let a = &s.alerts;
    assert_eq!(a.max_declares_per_hour, 3);
    assert_eq!(a.notify.as_deref(), Some("<!subteam^S0ONCALL>"));
    let am = a.source("prod-am").unwrap();
    assert_eq!(am.kind, AlertSourceKind::Alertmanager);
    assert_eq!(
        am.token.as_ref().unwrap().expose_secret(),
        "from-the-environment",
        "env wins"
    );
    let pd = a.source("pd").unwrap();
    assert_eq!(
        pd.secret.as_ref().unwrap().expose_secret(),
        "pd-signing-secret"
    );
    assert!(
        !format!("{pd:?}").contains("pd-signing-secret"),
        "never printed"
    );
    let r = &a.routes.0[0];
    assert_eq!(r.matchers.len(), 2);
    assert_eq!(
        r.severity_map["critical"].as_str(),
        "SEV1",
        "levels resolved"
    );
    assert_eq!(
        a.routes.0[1].action,
        crate::domain::alerts::RouteAction::Ignore
    );
    // Defaults.
    let s = load(&[]).unwrap();
    assert_eq!(s.alerts.max_declares_per_hour, 5);
    assert!(s.alerts.sources.is_empty());
}

#[test]
fn bad_alert_settings_stop_start_up_naming_the_key() {
    let with = |toml: &str| {
        ALERTS.replace(
            r#"matchers = ['severity="critical"', 'team=~"pay.*"']"#,
            toml,
        )
    };
    let pd = [("WARROOM_ALERTS__SOURCES__PD__SECRET", "s")];
    for (toml, pairs, key, says) in [
        (
            with(r#"matchers = ['severity=="critical"']"#),
            &pd[..],
            "alerts.routes[0].matchers",
            "not a matcher",
        ),
        (
            with(r#"matchers = ['team=~"pay("']"#),
            &pd[..],
            "alerts.routes[0].matchers",
            "bad regex",
        ),
        (
            with(r#"matchers = ['severity']"#),
            &pd[..],
            "alerts.routes[0].matchers",
            "not a matcher",
        ),
        (
            ALERTS.replace(r#""SEV3""#, r#""SEV9""#),
            &pd[..],
            "alerts.routes[0].severity_map.warning",
            "unknown severity",
        ),
        (
            ALERTS.replace("{{ labels.service }}", "{{ labels.service"),
            &pd[..],
            "alerts.routes[0].title",
            "template",
        ),
        (
            ALERTS.replace("{{ labels.service }}", "{{ service }}"),
            &pd[..],
            "alerts.routes[0].title",
            "`service`",
        ),
        (
            ALERTS.replace(r#"action = "ignore""#, r#"action = "page""#),
            &pd[..],
            "alerts.routes[1].action",
            "`page`",
        ),
        (
            ALERTS.to_string(),
            &[][..],
            "alerts.sources[1].secret",
            "PD__SECRET",
        ),
        (
            ALERTS.replace(r#"kind = "pagerduty""#, r#"kind = "nagios""#),
            &pd[..],
            "alerts.sources[1].kind",
            "nagios",
        ),
        (
            ALERTS
                .replace(r#"name = "pd""#, r#"name = "Prod AM""#)
                .replace(
                    r#"kind = "pagerduty""#,
                    "kind = \"pagerduty\"\nsecret = \"s\"",
                ),
            &[][..],
            "alerts.sources[1].name",
            "a-z",
        ),
        (
            ALERTS.replace("announce_channel = \"C0INCIDENTS\"", ""),
            &pd[..],
            "announce_channel",
            "alert cards",
        ),
    ] {
        let e = from_file(&toml, pairs).unwrap_err().to_string();
        assert!(
            e.contains(key) && e.contains(says),
            "expected `{key}` … {says}: {e}"
        );
        assert!(!e.contains('\n'), "one line: {e}");
    }
    let e = from_file(ALERTS, &[("WARROOM_ALERTS__SOURCES__NOPE__TOKEN", "x")]).unwrap_err();
    assert!(
        e.to_string()
            .contains("WARROOM_ALERTS__SOURCES__NOPE__TOKEN"),
        "{e}"
    );
    let e = from_file(ALERTS, &[("WARROOM_ALERTS__SOURCES__PD__PASSWORD", "x")]).unwrap_err();
    assert!(e.to_string().contains("__TOKEN and __SECRET"), "{e}");
}

#[test]
fn web_record_keys() {
    let s = load(&[]).unwrap();
    assert!(s.web.is_none(), "off without web.base_url");
    let s = load(&[
        ("WARROOM_WEB__BASE_URL", "https://warroom.example.com"),
        ("WARROOM_WEB__OIDC__CLIENT_ID", "123.456"),
        ("WARROOM_WEB__OIDC__CLIENT_SECRET", "s3cret"),
        ("WARROOM_WEB__SESSION_LIFETIME", "8h"),
    ])
    .unwrap();
    let web = s.web.unwrap();
    assert_eq!(
        web.issuer, "https://slack.com",
        "exactly as Slack's tokens say"
    );
    assert_eq!(web.identity, super::WebIdentity::Slack);
    assert!(web.secure());
    assert_eq!(
        web.redirect_url(),
        "https://warroom.example.com/web/callback"
    );
    assert_eq!(
        web.session_lifetime,
        std::time::Duration::from_secs(8 * 3600)
    );
    assert!(
        !format!("{web:?}").contains("s3cret"),
        "the secret is never printed"
    );
    for (pairs, key) in [
        (
            vec![("WARROOM_WEB__BASE_URL", "https://w.example.com")],
            "web.oidc.client_id",
        ),
        (
            vec![
                ("WARROOM_WEB__BASE_URL", "https://w.example.com"),
                ("WARROOM_WEB__OIDC__CLIENT_ID", "1"),
            ],
            "web.oidc.client_secret",
        ),
        (vec![("WARROOM_WEB__BASE_URL", "warroom")], "web.base_url"),
        (
            vec![
                ("WARROOM_WEB__BASE_URL", "https://w.example.com"),
                ("WARROOM_WEB__OIDC__CLIENT_ID", "1"),
                ("WARROOM_WEB__OIDC__CLIENT_SECRET", "2"),
                ("WARROOM_WEB__ALLOWED_TEAM", "acme"),
            ],
            "web.allowed_team",
        ),
        (
            vec![
                ("WARROOM_WEB__BASE_URL", "https://w.example.com"),
                ("WARROOM_WEB__OIDC__CLIENT_ID", "1"),
                ("WARROOM_WEB__OIDC__CLIENT_SECRET", "2"),
                ("WARROOM_WEB__OIDC__IDENTITY", "sub"),
            ],
            "web.oidc.identity",
        ),
    ] {
        let e = load(&pairs).err().unwrap().to_string();
        assert!(e.contains(key), "{key}: {e}");
    }
    // Another issuer's tokens name people by e-mail, unless told otherwise;
    // its address is kept as written (Auth0's ends in a slash).
    let other = |identity: &'static str| {
        load(&[
            ("WARROOM_WEB__BASE_URL", "https://w.example.com"),
            ("WARROOM_WEB__OIDC__ISSUER", "https://acme.eu.auth0.com/"),
            ("WARROOM_WEB__OIDC__CLIENT_ID", "1"),
            ("WARROOM_WEB__OIDC__CLIENT_SECRET", "2"),
            ("WARROOM_WEB__OIDC__IDENTITY", identity),
        ])
        .unwrap()
        .web
        .unwrap()
    };
    assert_eq!(other("").identity, super::WebIdentity::Email);
    let slack = load(&[
        ("WARROOM_WEB__BASE_URL", "https://w.example.com"),
        ("WARROOM_WEB__OIDC__ISSUER", "https://slack.com/"),
        ("WARROOM_WEB__OIDC__CLIENT_ID", "1"),
        ("WARROOM_WEB__OIDC__CLIENT_SECRET", "2"),
    ])
    .unwrap()
    .web
    .unwrap();
    assert_eq!(
        (slack.issuer.as_str(), slack.identity),
        (SLACK_ISSUER, super::WebIdentity::Slack),
        "Slack's, with a slash"
    );
    assert_eq!(other("").issuer, "https://acme.eu.auth0.com/");
    assert_eq!(other("slack").identity, super::WebIdentity::Slack);
}
