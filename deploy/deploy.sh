#!/usr/bin/env bash
# Deploys whoknows to AWS: bundle (package + trim + budget check), upload, CloudFormation deploy,
# then prints the Slack request URLs and writes deploy/slack-app-manifest.json.
#
#   STAGE=dev ARTIFACT_BUCKET=my-cfn-artifacts MODEL_URI=s3://my-models/whoknows \
#   SLACK_SIGNING_SECRET_PARAM=/whoknows/dev/slack-signing-secret \
#   SLACK_BOT_TOKEN_PARAM=/whoknows/dev/slack-bot-token deploy/deploy.sh
#
# Secrets are never passed here: only the names of SSM SecureString parameters, created beforehand:
#   aws ssm put-parameter --type SecureString --name /whoknows/dev/slack-signing-secret --value ...
# Optional: ALARM_TOPIC_ARN (SNS topic for the dead-letter-queue alarm), FEEDBACK_RETENTION_DAYS (how
# long feedback is kept, default 365), STORE_FEEDBACK_QUESTIONS (true to keep the questions with the
# feedback, default false), STACK_NAME, AWS_DEFAULT_REGION.
set -euo pipefail

cd "$(dirname "$0")/.."
STAGE="${STAGE:-dev}"
STACK_NAME="${STACK_NAME:-whoknows-$STAGE}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
PYTHON="${PYTHON:-.venv/bin/python}"

die() { echo "deploy: $*" >&2; exit 1; }
command -v aws >/dev/null 2>&1 || die "the AWS CLI (aws) is not installed or not on PATH; install it (https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html) and configure credentials"
missing=()
for name in ARTIFACT_BUCKET MODEL_URI SLACK_SIGNING_SECRET_PARAM SLACK_BOT_TOKEN_PARAM; do
  [[ -n "${!name:-}" ]] || missing+=("$name")
done
((${#missing[@]} == 0)) || die "set ${missing[*]} (see the header of $0)"
[[ "$MODEL_URI" =~ ^s3://([^/]+)/(.+[^/])/?$ ]] || die "MODEL_URI must be s3://bucket/prefix, got $MODEL_URI"
MODEL_BUCKET="${BASH_REMATCH[1]}"
MODEL_PREFIX="${BASH_REMATCH[2]%/}"

"$PYTHON" -m deploy.bundle --stage "$STAGE"

aws cloudformation package \
  --template-file "build/$STAGE/sam.json" \
  --s3-bucket "$ARTIFACT_BUCKET" \
  --s3-prefix "whoknows/$STAGE" \
  --output-template-file "build/$STAGE/packaged.yaml"

aws cloudformation deploy \
  --template-file "build/$STAGE/packaged.yaml" \
  --stack-name "$STACK_NAME" \
  --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND \
  --no-fail-on-empty-changeset \
  --parameter-overrides \
    "Stage=$STAGE" \
    "ModelBucket=$MODEL_BUCKET" \
    "ModelPrefix=$MODEL_PREFIX" \
    "SlackSigningSecretParam=$SLACK_SIGNING_SECRET_PARAM" \
    "SlackBotTokenParam=$SLACK_BOT_TOKEN_PARAM" \
    "AlarmTopicArn=${ALARM_TOPIC_ARN:-}" \
    "FeedbackRetentionDays=${FEEDBACK_RETENTION_DAYS:-365}" \
    "StoreFeedbackQuestions=${STORE_FEEDBACK_QUESTIONS:-false}"

stack_output() {  # the value of one of the stack's outputs (deploy/merge-template.json declares them)
  local value
  value="$(aws cloudformation describe-stacks --stack-name "$STACK_NAME" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text)"
  [[ -n "$value" && "$value" != "None" ]] || die "stack $STACK_NAME has no $1 output"
  printf '%s' "$value"
}
SLACK_COMMANDS_URL="$(stack_output SlackCommandsURL)"
SLACK_EVENTS_URL="$(stack_output SlackEventsURL)"
SLACK_INTERACTIONS_URL="$(stack_output SlackInteractionsURL)"
export SLACK_COMMANDS_URL SLACK_EVENTS_URL SLACK_INTERACTIONS_URL

"$PYTHON" - <<'PY'
import os
from pathlib import Path

text = Path("deploy/slack-app-manifest.template.json").read_text()
for name in ("SLACK_COMMANDS_URL", "SLACK_EVENTS_URL", "SLACK_INTERACTIONS_URL"):
    text = text.replace("${" + name + "}", os.environ[name])
Path("deploy/slack-app-manifest.json").write_text(text)
PY

cat <<MSG

Deployed stack $STACK_NAME ($STAGE).
  Slash command request URL: $SLACK_COMMANDS_URL
  Events request URL:        $SLACK_EVENTS_URL
  Interactivity request URL: $SLACK_INTERACTIONS_URL
Slack app manifest with these URLs: deploy/slack-app-manifest.json
  (api.slack.com/apps -> Create New App -> From an app manifest, or paste into an existing app's manifest.)
MSG
