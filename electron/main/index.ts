// Electron main process: the desktop shell around the engine. For now a single, securely configured
// window; the desktop-app work adds the tray, IPC handlers and the React UI.
import { app, BrowserWindow, shell } from 'electron';
import { join } from 'node:path';

if (!app.requestSingleInstanceLock()) app.quit();

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1000,
    height: 700,
    title: 'Mamori',
    webPreferences: {
      preload: join(__dirname, '..', 'preload', 'index.js'),
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
    },
  });
  // Links open in the system browser; the app never opens windows of its own for web content.
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (/^https?:/.test(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  void win.loadFile(join(__dirname, '..', '..', 'renderer', 'index.html'));
  return win;
}

app.on('second-instance', () => BrowserWindow.getAllWindows()[0]?.show());
void app.whenReady().then(createWindow);
