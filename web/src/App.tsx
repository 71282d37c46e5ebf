// The console's shell: the login gate, the masthead with the user menu, navigation, and pages.
import { useCallback, useEffect, useState } from 'react';
import {
  Brand, Button, Masthead, MastheadBrand, MastheadContent, MastheadMain, MastheadToggle, Nav, NavItem, NavList,
  Page, PageSidebar, PageSidebarBody, PageToggleButton, Toolbar, ToolbarContent, ToolbarGroup, ToolbarItem,
} from '@patternfly/react-core';
import { BarsIcon } from '@patternfly/react-icons';
import { api, setUnauthorizedHandler, type User } from './api';
import { useLive } from './live';
import { Login } from './pages/Login';
import { Partitions } from './pages/Partitions';
import { SystemPage } from './pages/SystemPage';
import { Storage } from './pages/Storage';
import { Ethernet } from './pages/Ethernet';
import { Backup } from './pages/Backup';
import { Utilization } from './pages/Utilization';
import { Tasks } from './pages/Tasks';
import { Users } from './pages/Users';
import { Terminal } from './pages/Terminal';
import { ChangePassword } from './pages/ChangePassword';

const PAGES = [
  { path: 'partitions', title: 'View/Modify Partitions' },
  { path: 'system', title: 'View/Modify System Properties' },
  { path: 'storage', title: 'View/Modify Virtual Storage' },
  { path: 'ethernet', title: 'View/Modify Virtual Ethernet' },
  { path: 'utilization', title: 'Utilization' },
  { path: 'backup', title: 'Backup/Restore' },
  { path: 'tasks', title: 'Task Monitor' },
  { path: 'users', title: 'User Accounts' },
];

function useHashRoute(): string {
  const [route, setRoute] = useState(() => window.location.hash.replace(/^#\/?/, '') || 'partitions');
  useEffect(() => {
    const f = () => setRoute(window.location.hash.replace(/^#\/?/, '') || 'partitions');
    window.addEventListener('hashchange', f);
    return () => window.removeEventListener('hashchange', f);
  }, []);
  return route;
}

export function App() {
  const [user, setUser] = useState<User | null | undefined>(undefined);
  const [expired, setExpired] = useState(false);
  useEffect(() => {
    api.session().then(setUser, () => setUser(null));
  }, []);
  const onExpired = useCallback(() => { setUser(null); setExpired(true); }, []);
  useEffect(() => setUnauthorizedHandler(onExpired), [onExpired]);
  if (user === undefined) return null;
  if (user === null) return <Login expired={expired} onLogin={(u) => { setExpired(false); setUser(u); }} />;
  return <Console user={user} onLogout={() => { setUser(null); setExpired(false); }} onExpired={onExpired} />;
}

function Console({ user, onLogout, onExpired }: { user: User; onLogout: () => void; onExpired: () => void }) {
  const route = useHashRoute();
  const live = useLive(onExpired);
  const [changingPassword, setChangingPassword] = useState(false);
  const canModify = user.role === 'View/Modify';
  const page = route.split('/')[0];

  const masthead = (
    <Masthead>
      <MastheadMain>
        <MastheadToggle>
          <PageToggleButton variant="plain" aria-label="Navigation"><BarsIcon /></PageToggleButton>
        </MastheadToggle>
        <MastheadBrand><Brand alt="ivm" widths={{ default: '0px' }} src="data:," /><b style={{ fontSize: '1.2rem' }}>ivm</b>&nbsp;Integrated Virtualization Manager</MastheadBrand>
      </MastheadMain>
      <MastheadContent>
        <Toolbar isFullHeight><ToolbarContent><ToolbarGroup align={{ default: 'alignEnd' }}>
          <ToolbarItem><span data-testid="whoami">{user.name} ({user.role})</span></ToolbarItem>
          <ToolbarItem><Button variant="link" onClick={() => setChangingPassword(true)}>Change password</Button></ToolbarItem>
          <ToolbarItem><Button variant="secondary" onClick={() => api.logout().finally(onLogout)}>Log out</Button></ToolbarItem>
        </ToolbarGroup></ToolbarContent></Toolbar>
      </MastheadContent>
    </Masthead>
  );
  const sidebar = (
    <PageSidebar>
      <PageSidebarBody>
        <Nav aria-label="Pages">
          <NavList>
            {PAGES.filter((p) => p.path !== 'users' || canModify).map((p) => (
              <NavItem key={p.path} isActive={page === p.path} to={`#/${p.path}`}>{p.title}</NavItem>
            ))}
          </NavList>
        </Nav>
      </PageSidebarBody>
    </PageSidebar>
  );
  let body;
  if (page === 'terminal') body = <Terminal id={Number(route.split('/')[1])} canModify={user.role !== 'View Only'} />;
  else if (page === 'system') body = <SystemPage live={live} canModify={canModify} />;
  else if (page === 'storage') body = <Storage live={live} canModify={canModify} />;
  else if (page === 'ethernet') body = <Ethernet live={live} canModify={canModify} />;
  else if (page === 'utilization') body = <Utilization live={live} lpar={route.split('/')[1] ? Number(route.split('/')[1]) : null} />;
  else if (page === 'backup') body = <Backup canModify={canModify} />;
  else if (page === 'tasks') body = <Tasks live={live} />;
  else if (page === 'users' && canModify) body = <Users self={user.name} />;
  else body = <Partitions live={live} canModify={canModify} canConsole={user.role !== 'View Only'} />;
  return (
    <Page masthead={masthead} sidebar={sidebar} isManagedSidebar>
      {body}
      {changingPassword && <ChangePassword user={user.name} onClose={() => setChangingPassword(false)} />}
    </Page>
  );
}
