package model

import "testing"

func TestSecretLikeName(t *testing.T) {
	for name, want := range map[string]bool{
		"DB_PASSWORD": true, "api_key": true, "secret": true, "GITHUB_TOKEN": true,
		"DB_PASSWORD_FILE": false, "SECRET_NAME": false, "TOKEN_URL": false,
		// A namespace names where a Secret is (the External Secrets
		// Operator's --secret-namespace), it holds none.
		"secret_namespace": false, "SECRET_NAMESPACE": false,
	} {
		if got := SecretLikeName(name); got != want {
			t.Errorf("SecretLikeName(%q) = %v, want %v", name, got, want)
		}
	}
}
