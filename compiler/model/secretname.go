package model

import "regexp"

var (
	secretName    = regexp.MustCompile(`(?i)(PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL|ACCESS_?KEY)`)
	notSecretName = regexp.MustCompile(`(?i)(_FILE|_PATH|_DIR|_NAME|_ID|_REF|_HEADER|_TTL|_LENGTH|_EXPIRY|_URL|_ENDPOINT|_ENABLED)$`)
)

// SecretLikeName reports whether a setting's name says it holds a
// credential (DB_PASSWORD, API_KEY), rather than naming one (a path, a
// file, an ID).
func SecretLikeName(name string) bool {
	return secretName.MatchString(name) && !notSecretName.MatchString(name)
}
