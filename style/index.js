import './base.css';
import './storage.css';
