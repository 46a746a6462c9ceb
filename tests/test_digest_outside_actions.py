"""Acts outside the repository (a pull request opened, review comments answered, a tracker's
tasks closed) are said as results, with what came of them (``claude_code.outside_actions``)."""

from __future__ import annotations

import json

import pytest

from memcore import session_digest
from memcore.claude_code.outside_actions import action_result, action_shown, is_outside_action
from memcore.digest_lines import build_candidates
from tests.test_transcript_agent_records import _Records


@pytest.mark.parametrize(
    ("command", "acts"),
    [
        ('gh pr create --base main --title "Add docs" --body "$(cat <<\'EOF\'\nx\nEOF\n)"', True),
        ("gh pr merge 22 --squash 2>&1", True),
        ("cd repo && gh issue close 7", True),
        ("gh api repos/o/r/issues/143/comments -X POST -f body=done", True),
        ("gh api repos/o/r/pulls/22 --method=PATCH", True),
        ("gh api repos/o/r/issues/1/comments -f body=x", True),  # (fields: a POST)
        ("bd close spotter-gqc.4", True),
        ("gh pr view 22", False),
        ("gh api repos/o/r/pulls/143/comments", False),
        ("gh api repos/o/r/issues -X GET -f state=open", False),
        ("git push origin main", False),
        ("echo gh pr create", False),
    ],
)
def test_acts_outside_the_repository_are_told_by_their_command(command: str, acts: bool) -> None:
    assert is_outside_action(command) is acts


def test_an_act_is_named_without_the_text_it_carried() -> None:
    command = (
        'gh pr create --base main --title "Add chkit agent skill" --body "$(cat <<\'EOF\'\n'
        '## Summary\nlong text\nEOF\n)"'
    )
    assert action_shown(command) == ("gh pr create --base main", "Add chkit agent skill")
    shown = action_shown('bd close spotter-gqc.6 --reason="Implemented the handler" 2>&1')
    assert shown == ("bd close spotter-gqc.6", "")
    shown = action_shown("gh api repos/o/r/issues/9/comments -X POST -f body='Fixed in abc'")
    assert shown == ("gh api repos/o/r/issues/9/comments -X POST", "")
    # (a quote left open: read by whitespace)
    assert action_shown("gh pr edit 9 --title 'unclosed") == ("gh pr edit 9", "'unclosed")


def test_what_came_of_an_act_is_its_url_or_its_first_lines() -> None:
    answer = {"url": "https://api.github.com/x", "html_url": "https://github.com/o/r/pull/9#c1"}
    assert action_result(json.dumps(answer)) == ["https://github.com/o/r/pull/9#c1"]
    assert action_result(json.dumps([answer])) == ["https://github.com/o/r/pull/9#c1"]
    assert action_result('{"html_url": "javascript:x"}') == []
    assert action_result('{"html_url": "https://github.com/o/r') == []  # (cut short)
    assert action_result("\u2713 Closed a.1: Closed\n\u2713 Closed a.2: Closed\nmore\n") == [
        "\u2713 Closed a.1: Closed",
        "\u2713 Closed a.2: Closed",
    ]


def _decisions(records: _Records) -> list[str]:
    return session_digest(records.items(), 4000).sections.get("decisions", "").splitlines()


def test_a_pull_request_opened_is_a_result_with_its_title_and_url() -> None:
    acts = _Records()
    acts.user("open a PR for the docs")
    body = "\"$(cat <<'EOF'\n## Summary\nCreates the skill.\nEOF\n)\""
    acts.ran(f'gh pr create --base main --title "Add the docs" --body {body}', "https://x/pull/50")
    assert (
        '- Acted outside the repository: `gh pr create --base main` ("Add the docs"): '
        "https://x/pull/50." in _decisions(acts)
    )
    # its command's own line is a spare one now: said only when every other line had its chance
    ran = [c for c in build_candidates(acts.items()) if c.text.startswith("- `gh pr create")]
    assert len(ran) == 1
    assert ran[0].spare


def test_acts_that_differ_by_one_number_are_one_line_naming_each() -> None:
    acts = _Records()
    acts.user("close the finished tasks")
    for task in (4, 5, 6):
        acts.ran(f"bd close spotter-gqc.{task} 2>&1", f"\u2713 Closed spotter-gqc.{task}: Closed")
    reply = json.dumps({"html_url": "https://github.com/o/r/pull/143#discussion_r2"})
    for comment in (2763480564, 2763480569):
        acts.ran(f"gh api repos/o/r/pulls/143/comments/{comment}/replies -X POST -f body=x", reply)
    decisions = _decisions(acts)
    assert (
        "- Acted outside the repository 3 times: `bd close spotter-gqc.N` (N: 4, 5 and 6); "
        "the last: \u2713 Closed spotter-gqc.6: Closed." in decisions
    )
    assert (
        "- Acted outside the repository twice: `gh api repos/o/r/pulls/143/comments/N/replies "
        "-X POST` (2 values of N); the last: https://github.com/o/r/pull/143#discussion_r2."
        in decisions
    )


def test_an_act_that_failed_is_no_result() -> None:
    acts = _Records()
    acts.user("merge the PR")
    acts.ran("gh pr merge 22 --squash", "X Pull request o/r#22 is not mergeable", code=1)
    assert not any("Acted outside" in line for line in _decisions(acts))
    errors = session_digest(acts.items(), 4000).sections["errors"]
    assert "not mergeable" in errors


def test_an_act_whose_pull_request_claude_code_names_is_said_once() -> None:
    """Claude Code notes the pull request the session opened (a ``pr-link`` record): the act
    that opened it would say the same address again."""
    from memcore.claude_code import parse_lines
    from tests.test_transcript_queued import _pr_link

    acts = _Records()
    acts.user("open a PR for the discount field")
    acts.ran('gh pr create --title "Discount field"', "https://github.com/carol/shop/pull/7")
    lines = [*acts.lines, _pr_link(7)]
    decisions = session_digest(parse_lines(lines).items, 4000).sections["decisions"]
    assert decisions.count("https://github.com/carol/shop/pull/7") == 1
    assert "The session's pull request is #7 of `carol/shop`" in decisions


@pytest.mark.parametrize(
    ("command", "acts"),
    [
        ("gh variable set CORS_ORIGINS --env staging -R o/r --body 'https://a,https://b'", True),
        ("gh secret delete DEPLOY_KEY -R o/r", True),
        ("gh repo edit --default-branch main", True),
        ("gh variable list --env staging -R o/r 2>&1", False),
        ("gh secret list --env staging | grep -i cors", False),
        ('ssh -i ~/.ssh/key root@10.0.0.5 "cd /opt/app && docker compose restart api"', True),
        ("ssh deploy@web1 \"sed -i 's|A=.*|A=1|' /opt/app/.env\" 2>&1", True),
        ('ssh web1 "echo done >> /var/log/deploys.log"', True),
        ('ssh web1 "sudo systemctl restart nginx"', True),
        ('ssh -p 2222 web1 "cat /opt/app/.env | grep CORS" 2>&1 | head -20', False),
        ('ssh web1 "ls -la /opt/app 2>&1 >/dev/null"', False),
        ("ssh web1", False),
        ("scp dist.tar.gz deploy@web1:/srv/releases/", True),
        ("scp web1:/var/log/app.log .", False),
        ("rsync -avz dist/ deploy@web1:/var/www/", True),
        ("npm publish --access public", True),
        ("npm publish --dry-run", False),
        ("docker push ghcr.io/o/app:1.2.0", True),
        ("kubectl apply -f k8s/", True),
        ("kubectl get pods -n prod", False),
        ("terraform plan", False),
        ("terraform apply -auto-approve", True),
    ],
)
def test_settings_remote_machines_and_releases_changed_are_acts(command: str, acts: bool) -> None:
    assert is_outside_action(command) is acts


def test_a_remote_act_is_named_by_host_and_what_changed_there() -> None:
    """Not by the key it logged in with, the ``cd`` before it or the look around beside it;
    a long word (a sed script, a list of origins) as ``…``."""
    sed = "s|CORS_ALLOWED_ORIGINS=.*|CORS_ALLOWED_ORIGINS=https://app.example.com,http://localhost:1420|"
    command = f"ssh -i ~/.ssh/deploy root@10.0.0.5 \"sed -i '{sed}' /opt/app/.env.staging\" 2>&1"
    assert action_shown(command) == ("ssh root@10.0.0.5 sed -i \u2026 /opt/app/.env.staging", "")
    command = 'ssh root@10.0.0.5 "cd /opt/app && ls && docker compose -f s.yml restart api"'
    assert action_shown(command) == ("ssh root@10.0.0.5 docker compose -f s.yml restart api", "")


def test_a_staging_server_changed_over_ssh_is_a_result() -> None:
    acts = _Records()
    acts.user("the email login says Load failed against staging")
    acts.ran('ssh -i ~/.ssh/deploy root@10.0.0.5 "grep CORS /opt/app/.env.staging"', "CORS=a")
    acts.ran(
        "ssh -i ~/.ssh/deploy root@10.0.0.5 \"sed -i 's|CORS=.*|CORS=a,http://localhost:1420|' "
        '/opt/app/.env.staging"',
        "",
    )
    acts.ran(
        'ssh root@10.0.0.5 "cd /opt/app && docker compose restart api"',
        "Container app-api-1 Restarting\nContainer app-api-1 Started",
    )
    acts.ran("gh variable set CORS --env staging -R o/r --body 'a,http://localhost:1420'", "")
    decisions = _decisions(acts)
    # (a short script is said: it is what changed)
    assert (
        "- Acted outside the repository: `ssh root@10.0.0.5 sed -i "
        "s|CORS=.*|CORS=a,http://localhost:1420| /opt/app/.env.staging`." in decisions
    )
    assert (
        "- Acted outside the repository: `ssh root@10.0.0.5 docker compose restart api`: "
        "Container app-api-1 Restarting." in decisions
    )
    assert "- Acted outside the repository: `gh variable set CORS --env staging -R o/r`." in (
        decisions
    )
    assert not any("grep CORS" in line for line in decisions)  # (a look: no act)


@pytest.mark.parametrize(
    "command",
    [
        "ssh web1 'cat /opt/app/.env' > env.copy",
        "ssh web1 cat /opt/app/.env && rm env.copy",
        "ssh web1 'cat /opt/app/.env' | tee env.copy",
    ],
)
def test_what_the_local_shell_does_after_ssh_is_no_remote_act(command: str) -> None:
    assert not is_outside_action(command)


def test_a_graphql_mutation_is_named_by_the_fields_it_calls() -> None:
    """``gh api graphql -f query='mutation {...}'``: its query is text, so the command alone
    said "`gh api graphql`"; what it did is the mutation's top-level fields, once each."""
    from memcore.claude_code.outside_actions import mutation_fields

    command = (
        'gh api graphql -f query=\'mutation { t1: resolveReviewThread(input: {threadId: "A"}) '
        "{ thread { comments(first: 1) { nodes { id } } } } "
        't2: resolveReviewThread(input: {threadId: "B"}) { thread { id } } }\''
    )
    assert mutation_fields(command) == ["resolveReviewThread"]
    assert action_shown(command) == ("gh api graphql", "mutation resolveReviewThread")
    named = "mutation AddStar($id: ID!) { addStar(input: {starrableId: $id}) { clientMutationId } }"
    assert mutation_fields(named) == ["addStar"]
    assert mutation_fields("query { viewer { login } }") == []
    assert mutation_fields("mutation {") == []  # (cut short: nothing called yet)
    records = _Records()
    records.user("resolve the review threads")
    records.ran(command, '{"data":{"t1":{"thread":{"id":"A"}}}}')
    decisions = session_digest(records.items(), 400).sections["decisions"]
    assert '`gh api graphql` ("mutation resolveReviewThread")' in decisions, decisions
