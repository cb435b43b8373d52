import './app/runtime';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './ui/App';
import { restoreCustomModels } from './ui/customModels';
import './ui/styles.css';

// the models uploaded on earlier visits (IndexedDB): served again before /custom/… routes answer
void restoreCustomModels();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
