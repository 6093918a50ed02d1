import './base.css';
import './storage.css';
import './runs.css';
