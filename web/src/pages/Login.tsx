import { useState } from 'react';
import { LoginForm, LoginPage } from '@patternfly/react-core';
import { api, type User } from '../api';

export function Login({ expired, onLogin }: { expired: boolean; onLogin: (u: User) => void }) {
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(expired ? 'Your session has expired. Log in again.' : null);
  const submit = (e: React.MouseEvent | React.FormEvent) => {
    e.preventDefault();
    api.login(name, password).then((r) => onLogin(r.user), (err) => setError(err.message));
  };
  return (
    <LoginPage loginTitle="Log in to ivm" loginSubtitle="Integrated Virtualization Manager">
      <LoginForm
        showHelperText={error !== null}
        helperText={error ?? ''}
        usernameLabel="User name"
        usernameValue={name}
        onChangeUsername={(_e, v) => setName(v)}
        passwordLabel="Password"
        passwordValue={password}
        onChangePassword={(_e, v) => setPassword(v)}
        onLoginButtonClick={submit}
        loginButtonLabel="Log in"
      />
    </LoginPage>
  );
}
