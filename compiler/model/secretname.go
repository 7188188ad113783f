package model

import (
	"regexp"
	"strings"
	"sync"
)

var (
	secretName    = regexp.MustCompile(`(?i)(PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL|ACCESS_?KEY)`)
	notSecretName = regexp.MustCompile(`(?i)(_FILE|_PATH|_DIR|_NAME|_NAMESPACE|_ID|_REF|_HEADER|_TTL|_LENGTH|_EXPIRY|_URL|_ENDPOINT|_ENABLED)$`)
)

// SecretLikeName reports whether a setting's name says it holds a
// credential (DB_PASSWORD, API_KEY), rather than naming one (a path, a
// file, an ID).
func SecretLikeName(name string) bool {
	if v, ok := secretLike.Load(name); ok {
		return v.(bool)
	}
	like := secretName.MatchString(name) && !notSecretName.MatchString(name)
	secretLike.Store(name, like)
	return like
}

// secretLike holds the names SecretLikeName was asked about: each
// environment's rules ask again of the same settings.
var secretLike sync.Map // string → bool

// MetadataKeySecretLike reports whether a label or annotation key names a
// credential as a config key would: "example.com/db-password" does.
func MetadataKeySecretLike(key string) bool { return SecretLikeName(MetadataKeyName(key)) }

// MetadataKeyName is a label or annotation key as a setting's name: its
// name part, with '-' and '.' as '_' ("example.com/db-password" is
// "db_password").
func MetadataKeyName(key string) string {
	if i := strings.LastIndexByte(key, '/'); i >= 0 {
		key = key[i+1:]
	}
	return SettingChars.Replace(key)
}

// SettingChars turns a key or a file name into a setting's name: '-'
// and '.' become '_'.
var SettingChars = strings.NewReplacer("-", "_", ".", "_")

// MetadataPaths are where a component holds labels and annotations,
// relative to it, each a map of key to value.
var MetadataPaths = []string{"pod.labels", "pod.annotations", "serviceAccount.annotations", "expose.ingress.annotations", "expose.loadBalancer.annotations"}
